import t from 'tap'
import { fork, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Upload } from 'tus-js-client'
import { commitForm } from './direct-helpers.js'
import { filesUnder, tempDir, type Tap } from './helpers.js'
import { waitFor, within } from './http-helpers.js'
import { mp4 } from './resumable-app.js'

const SERVER = join(import.meta.dirname, 'resumable-server.mjs')
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

async function start (t: Tap, baseDir: string, port = 0): Promise<{ child: ChildProcess, origin: string }> {
  const child = fork(SERVER, [baseDir, String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const [message] = await within(once(child, 'message'), 'the server listening', 60_000) as [{ port: number }]
  return { child, origin: `http://127.0.0.1:${message.port}` }
}

t.test('an upload to a disk store whose server gets SIGKILL in the middle resumes after a restart', async (t) => {
  if (!existsSync(join(import.meta.dirname, '..', 'dist', 'index.js'))) t.fail('dist/index.js is missing: run `npm run build` first (npm test does)')
  const dir = tempDir(t)
  const bytes = mp4(64 * 2 ** 20, 3)
  bytes.writeUInt32BE(0xfeedface, bytes.length - 4)
  const first = await start(t, dir)

  // one PATCH of the whole file; the server dies once it has stored a quarter of it
  let url: string | undefined
  const cut = new Promise<unknown>((resolve) => {
    const upload: Upload = new Upload(bytes, {
      endpoint: `${first.origin}/files`,
      metadata: { field: 'clip.video', filename: 'night.mp4' },
      retryDelays: [],
      onUploadUrlAvailable: () => { url = upload.url! },
      onError: resolve,
      onSuccess: () => resolve(new Error('the upload finished before the server was killed'))
    })
    upload.start()
  })
  const stored = async (): Promise<number> => await (await fetch(`${first.origin}/received/${url!.slice(-32)}`)).json() as number
  t.ok(await waitFor(async () => url !== undefined && await stored() > bytes.length / 4, 30_000), 'a quarter of the file is on disk')
  const exited = once(first.child, 'exit')
  first.child.kill('SIGKILL')
  await within(exited, 'the server gone')
  t.type(await within(cut, 'the client seeing the connection fail'), Error)
  const kept = filesUnder(join(dir, 'media', '.resumable'))
  t.equal(kept.length, 2, `the upload and its record survive the kill (${kept.join(', ')})`)

  // a new process on the same directory: the client asks where to go on (HEAD) and sends only the rest
  const second = await start(t, dir)
  const resumedAt: number[] = []
  const resumed = `${second.origin}${new URL(url!).pathname}`
  await within(new Promise<void>((resolve, reject) => {
    const upload = new Upload(bytes, {
      endpoint: `${second.origin}/files`,
      uploadUrl: resumed,
      retryDelays: [],
      onBeforeRequest: (req) => { if (req.getMethod() === 'PATCH') resumedAt.push(Number(req.getHeader('Upload-Offset'))) },
      onError: reject,
      onSuccess: () => resolve()
    })
    upload.start()
  }), 'the resumed upload', 60_000)
  t.ok(resumedAt[0]! > bytes.length / 4, `the resumed PATCH starts at ${resumedAt[0]}, not at 0`)

  const res = await commitForm(`${second.origin}/clips`, { video: resumed })
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  t.equal(sha256(readFileSync(join(dir, 'media', 'videos', 'night.mp4'))), sha256(bytes), 'byte-identical')
  t.same(filesUnder(join(dir, 'media', '.resumable')), [])
})
