// Property tests of everything that turns client input into a stored name, over arbitrary unicode (lone
// surrogates, controls, bidi overrides, fullwidth and combining characters included). Fixed seeds: a
// failure prints the seed and the shrunk counterexample, and the same run reproduces it.
import fc from 'fast-check'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import t from 'tap'
import { planName } from '../../lib/fields/upload-to.js'
import { FileSystemStorage, MemoryStorage } from '../../lib/index.js'
import { cleanSegment, fitName, getValidName, normalizeStorageName } from '../../lib/storage/valid-name.js'
import { tempDir } from '../helpers.js'

const SEED = 20261122
const SPECIAL = ['/', '\\', '.', '..', ' ', '\u0000', '\r', '\n', '\u202E', '\u202D', '\u2066', '\u200F', '\uFEFF', '\u061C', '\uFF0E', '\uFF0F', '\u2024', '\uD800', '\uDFFF', 'e\u0301', '\u1100', '\u1161', '\u200B', '\u00B9', 'CON', 'com1', 'php', '.php', '%2e', '{name}', '{ext}', '{hash}', '{uuid}', '%Y', '\u6771', '\uD83D\uDE00']
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: fc.constantFrom(...SPECIAL), maxLength: 40 }),
  fc.array(fc.oneof(fc.constantFrom(...SPECIAL), fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 120 }).map((parts) => parts.join(''))
)

function inside (root: string, name: string): boolean {
  const rel = relative(root, resolve(root, name))
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)
}

const CONTROL_OR_BIDI = /[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/u
const isWellFormed = (s: string): boolean => Buffer.from(s, 'utf8').toString('utf8') === s

function checkName (name: string): string | undefined {
  if (!isWellFormed(name)) return 'not valid UTF-8 (a lone surrogate)'
  if (name !== name.normalize('NFC')) return 'not NFC'
  if (CONTROL_OR_BIDI.test(name)) return 'a control or bidi character'
  if (Buffer.byteLength(name) > 255) return 'longer than 255 bytes'
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return `segment "${segment}"`
    if (segment.startsWith('.')) return 'a dotfile segment'
    if (Buffer.byteLength(segment) > 255) return 'a segment over 255 bytes'
  }
  const root = '/srv/media'
  if (!inside(root, name)) return 'outside the root'
  return undefined
}

t.test('getValidName: a clean, deterministic, idempotent base name, or nothing', async (t) => {
  fc.assert(fc.property(hostile, (raw) => {
    const name = getValidName(raw)
    if (name === '') return true
    const problem = checkName(name)
    if (problem !== undefined) throw new Error(`${JSON.stringify(raw)} -> ${JSON.stringify(name)}: ${problem}`)
    if (/[^\p{L}\p{N}_.-]/u.test(name)) throw new Error(`${JSON.stringify(name)} keeps a character outside [\\p{L}\\p{N}_.-]`)
    if (name.includes('/') || name.includes('\\')) throw new Error('a separator survived')
    if (getValidName(raw) !== name) throw new Error('not deterministic')
    if (cleanSegment(name) !== name) throw new Error(`not idempotent: ${JSON.stringify(name)} -> ${JSON.stringify(cleanSegment(name))}`)
    return true
  }), { seed: SEED, numRuns: 5000 })
  t.pass('5000 hostile names')
})

t.test('uploadTo expansion (templates and functions) with hostile client names: inside the root, or FST_MEDIA_INVALID_NAME', async (t) => {
  const date = new Date(Date.UTC(2026, 10, 22, 5, 30))
  fc.assert(fc.property(hostile, hostile, fc.boolean(), fc.constantFrom('png', 'jpg', 'pdf', 'svg'), (uploadTo, client, asFunction, ext) => {
    const valid = getValidName(client)
    if (valid === '') return true
    const filename = `${valid.replace(/\.[^.]*$/, '')}.${ext}`
    let name: string
    try {
      const plan = planName({ uploadTo: asFunction ? () => uploadTo : uploadTo, ctx: { filename, field: 'doc', model: 'm', date }, ext, maxLength: 255 })
      name = plan.name('0'.repeat(64))
      if (plan.name('0'.repeat(64)).replace(/[0-9a-f-]{36}/g, '') !== name.replace(/[0-9a-f-]{36}/g, '')) throw new Error('not deterministic')
    } catch (err) {
      if ((err as { code?: string }).code === 'FST_MEDIA_INVALID_NAME') return true
      throw err
    }
    const problem = checkName(name)
    if (problem !== undefined) throw new Error(`uploadTo ${JSON.stringify(uploadTo)}, ${JSON.stringify(client)} -> ${JSON.stringify(name)}: ${problem}`)
    if (!name.toLowerCase().endsWith(`.${ext}`)) throw new Error(`${JSON.stringify(name)} lost the detected extension .${ext}`)
    return true
  }), { seed: SEED, numRuns: 5000 })
  t.pass('5000 hostile templates and names')
})

t.test('getAvailableName on disk and in memory: inside the root, valid, or FST_MEDIA_INVALID_NAME', async (t) => {
  const location = tempDir(t)
  const disk = new FileSystemStorage({ location, baseUrl: '/media/' })
  const memory = new MemoryStorage()
  await fc.assert(fc.asyncProperty(hostile, async (raw) => {
    for (const storage of [disk, memory]) {
      let name: string
      try {
        name = await storage.getAvailableName(raw)
      } catch (err) {
        if ((err as { code?: string }).code === 'FST_MEDIA_INVALID_NAME') continue
        throw err
      }
      if (!inside(location, name)) throw new Error(`${JSON.stringify(raw)} -> ${JSON.stringify(name)}: outside the root`)
      if (Buffer.byteLength(name) > 255) throw new Error(`${JSON.stringify(name)}: longer than 255 bytes`)
      if (name.split('/').some((segment) => segment === '' || segment === '.' || segment === '..' || Buffer.byteLength(segment) > 255)) throw new Error(`${JSON.stringify(name)}: a bad segment`)
      if (name.includes('\0')) throw new Error('NUL')
    }
    return true
  }), { seed: SEED, numRuns: 1000 })
  t.pass('1000 hostile names on two storages')
})

t.test('found by the properties above', async (t) => {
  t.test('getAvailableName("...") is refused, never ".." (fitName read "..." as stem ".." without an extension)', async (t) => {
    const disk = new FileSystemStorage({ location: tempDir(t), baseUrl: '/media/' })
    for (const storage of [disk, new MemoryStorage()]) {
      for (const name of ['...', '....', 'a/.../b.png']) {
        await t.rejects(storage.getAvailableName(name), { code: 'FST_MEDIA_INVALID_NAME' }, name)
      }
    }
    t.equal(fitName('docs/..' + 'a'.repeat(300) + '.', 7), undefined, 'a cut that would leave a dot-only segment is no fit')
    t.equal(normalizeStorageName('a/.../b'), undefined)
  })
  t.test('a removed character between two Hangul jamo leaves them composable: the name is NFC again', async (t) => {
    t.equal(getValidName('\u1100\u0000\u1161.png'), '\uAC00.png')
    t.equal(getValidName('\u1100\u200B\u1161.png'), '\uAC00.png')
  })
})
