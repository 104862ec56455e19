// A multipart fuzz run against one real server: random part headers, names and bodies, cut or mangled
// bodies. Whatever comes in, the server answers with a media error or stores exactly what it reports,
// never leaves a temp file, and keeps answering. Bounded by case count; a failure prints the seed.
import fc from 'fast-check'
import t from 'tap'
import { assertAlive, BOUNDARY, closing, exchange, fixture, head, multipartType, rawPart, safeJson, startServer, storedFiles } from './harness.js'
import { GIF_JS_POLYGLOT, HTML_SCRIPT, png, SVG_SCRIPT } from './payloads.js'

const SEED = 5
const RUNS = 2000

const names = fc.oneof(
  { arbitrary: fc.constantFrom('avatar', 'doc', 'vector', 'notes', 'many', 'secret'), weight: 6 },
  { arbitrary: fc.constantFrom('__proto__', 'constructor', '', 'unknown'), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 1 }
)
const filenames = fc.option(fc.oneof(
  { arbitrary: fc.constantFrom('a.png', 'a', 'a.pdf', 'x.svg', 'n.txt', 'd.json', '../../a.png', '.htaccess', 'shell.php.png', 'CON', '', '.', '\u202Egnp.png'), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 }
), { nil: undefined, freq: 6 })
const bodies = fc.oneof(
  { arbitrary: fc.constantFrom(png(8, 8), fixture('fixture-minimal.pdf'), Buffer.from(SVG_SCRIPT), Buffer.from('plain text')), weight: 3 },
  fc.constantFrom(png(8, 8), png(60000, 60000), fixture('fixture-minimal.pdf'), Buffer.from(SVG_SCRIPT), Buffer.from(HTML_SCRIPT), GIF_JS_POLYGLOT, Buffer.from('plain text'), Buffer.from('{"a":1}'), Buffer.alloc(0)),
  fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes))
)
// keep quotes and line breaks out of the header values only sometimes: both are worth throwing
const quoted = (value: string): string => value.replace(/"/g, '')
const extraHeaders = fc.array(fc.oneof(
  fc.constantFrom('Content-Type: image/png', 'Content-Type: text/html', 'Content-Transfer-Encoding: base64', 'Content-Disposition: attachment', 'X: \r\n', ': empty name', 'no colon'),
  fc.string({ unit: 'binary-ascii', maxLength: 30 })
), { maxLength: 2 })
const parts = fc.array(fc.record({ name: names, filename: filenames, body: bodies, extra: extraHeaders, raw: fc.boolean() }), { maxLength: 4 })
const endings = fc.constantFrom('closing', 'closing', 'closing', 'none', 'cut', 'garbage')

function build (spec: Array<{ name: string, filename: string | undefined, body: Buffer, extra: string[], raw: boolean }>, ending: string, cutAt: number): Buffer {
  const chunks = spec.map(({ name, filename, body, extra, raw }) => {
    const clean = (value: string) => raw ? value : quoted(value).replace(/[\r\n]/g, '')
    let disposition = `Content-Disposition: form-data; name="${clean(name)}"`
    if (filename !== undefined) disposition += `; filename="${clean(filename)}"`
    return rawPart([disposition, ...extra].join('\r\n'), body)
  })
  if (ending === 'closing') chunks.push(closing())
  if (ending === 'garbage') chunks.push(Buffer.from(`--${BOUNDARY}\r\ngarbage`))
  const body = Buffer.concat(chunks)
  return ending === 'cut' ? body.subarray(0, Math.floor(body.length * cutAt)) : body
}

t.test(`multipart fuzz: ${RUNS} random bodies, the server never crashes and never leaves a file`, async (t) => {
  // a short upload timeout turns any body the parser never finishes into a 408 instead of a stuck test
  const server = await startServer(t, { limits: { uploadTimeout: 3000 } })
  const kept = new Set<string>()
  const statuses = new Map<number, number>()
  await fc.assert(fc.asyncProperty(parts, endings, fc.double({ min: 0, max: 1, noNaN: true }), async (spec, ending, cutAt) => {
    const body = build(spec, ending, cutAt)
    const { response } = await exchange(server.port, [head('/upload', { 'content-type': multipartType(), 'content-length': body.length }), body], { timeout: 10_000 })
    if (response === undefined) throw new Error('no response')
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
    const json = safeJson(response.body)
    if (response.status === 201) {
      for (const value of Object.values(json)) {
        for (const file of [value].flat() as Array<{ name: string } | null>) {
          if (file !== null) kept.add(file.name.startsWith('secret/') ? `private/${file.name}` : `media/${file.name}`)
        }
      }
    } else if (![400, 408, 413].includes(response.status) || !String(json.code).startsWith('FST_MEDIA_')) {
      throw new Error(`unexpected answer ${response.status} ${response.body.slice(0, 200)}`)
    }
    const files = storedFiles(server)
    if (JSON.stringify(files) !== JSON.stringify([...kept].sort())) throw new Error(`stored ${JSON.stringify(files)}, reported ${JSON.stringify([...kept])}`)
  }), { seed: SEED, numRuns: RUNS })
  t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}, files kept: ${kept.size}`)
  t.ok(statuses.get(201), 'some bodies were stored')
  await assertAlive(t, server)
})
