// The demo's database: one JSON file of records that hold the names of the files, never the files. The
// plugin stays database-agnostic: Profile.toRecord() makes a record's names, Profile.load() the files again.
import { randomUUID } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

export class ProfileStore {
  #file
  #records = []
  // writes run one after another, so two requests never interleave their renames
  #writing = Promise.resolve()

  constructor (file) {
    this.#file = file
  }

  /** Reads the file; a missing file is no profiles yet, a damaged one an error (never silently emptied). */
  async open () {
    let text
    try {
      text = await readFile(this.#file, 'utf8')
    } catch (err) {
      if (err.code === 'ENOENT') return this
      throw err
    }
    const data = JSON.parse(text)
    if (!Array.isArray(data?.profiles)) throw new Error(`${this.#file}: not a profiles file (no "profiles" array)`)
    this.#records = data.profiles
    return this
  }

  /** Newest first. */
  all () {
    return [...this.#records].reverse()
  }

  get (id) {
    return this.#records.find((record) => record.id === id)
  }

  async add (fields) {
    const record = { id: randomUUID(), created: new Date().toISOString(), ...fields }
    await this.#save((records) => [...records, record])
    return record
  }

  /** The removed record, or undefined when there was none. */
  async remove (id) {
    const record = this.get(id)
    if (record !== undefined) await this.#save((records) => records.filter((other) => other.id !== id))
    return record
  }

  /** `change` gets the records as they are once the writes before it are done. */
  async #save (change) {
    const write = this.#writing.then(async () => {
      const records = change(this.#records)
      await mkdir(dirname(this.#file), { recursive: true })
      // a crash mid-write leaves the old file whole: write beside it, then rename over it
      const temp = `${this.#file}.${process.pid}.tmp`
      await writeFile(temp, JSON.stringify({ profiles: records }, null, 2) + '\n')
      await rename(temp, this.#file)
      this.#records = records
    })
    this.#writing = write.catch(() => {})
    await write
  }
}
