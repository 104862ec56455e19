// Hostile content: whatever the name or the Content-Type claims, the bytes decide, and what is stored is
// served so that no browser runs it.
import t, { type Test } from 'tap'
import sharp from 'sharp'
import { request } from 'undici'
import { assertAlive, assertRefused, assertStored, fixture, form, get, post, startServer } from './harness.js'
import { GIF_JS_POLYGLOT, HTML_SCRIPT, PHP, png, SVG_SCRIPT, zipWithHugeContentTypes } from './payloads.js'

const SAFE = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
  'cross-origin-resource-policy': 'same-site'
}

t.test('PHP or HTML bytes named avatar.png are refused: no signature', async (t) => {
  const server = await startServer(t)
  for (const content of [PHP, HTML_SCRIPT]) {
    const res = await post(server, form([{ name: 'avatar', filename: 'avatar.png', contentType: 'image/png', content }]))
    await assertRefused(t, server, res, 400, 'FST_MEDIA_INVALID_TYPE')
  }
})

t.test('a real PNG named .jpg is refused: the extension contradicts the content', async (t) => {
  const server = await startServer(t)
  const res = await post(server, form([{ name: 'avatar', filename: 'photo.jpg', contentType: 'image/jpeg', content: fixture('fixture.png') }]))
  await assertRefused(t, server, res, 400, 'FST_MEDIA_EXTENSION_MISMATCH')
})

t.test('a real PNG with no extension is stored as .png and served as image/png, never as jpeg', async (t) => {
  const server = await startServer(t)
  const res = await post(server, form([{ name: 'avatar', filename: 'photo', contentType: 'image/jpeg', content: fixture('fixture.png') }]))
  const file = await assertStored(t, server, res, 'avatar', 'avatars/photo.png')
  t.equal(file.contentType, 'image/png')
  const served = await get(server, file.url)
  t.equal(served.headers['content-type'], 'image/png')
  t.match(served.headers, SAFE)
})

t.test('a GIF89a + JavaScript polyglot: not an image for an ImageField; a .gif served as image/gif for a FileField', async (t) => {
  const server = await startServer(t)
  const refused = await post(server, form([{ name: 'avatar', filename: 'x.gif', content: GIF_JS_POLYGLOT }]))
  await assertRefused(t, server, refused, 400, 'FST_MEDIA_INVALID_IMAGE')
  const asJs = await post(server, form([{ name: 'doc', filename: 'x.js', content: GIF_JS_POLYGLOT }]))
  await assertRefused(t, server, asJs, 400, 'FST_MEDIA_EXTENSION_MISMATCH')
  const stored = await post(server, form([{ name: 'doc', filename: 'x.gif', content: GIF_JS_POLYGLOT }]))
  const file = await assertStored(t, server, stored, 'doc', 'docs/x.gif')
  const served = await get(server, file.url)
  t.equal(served.headers['content-type'], 'image/gif', 'a script tag pointing at it is refused by the browser (nosniff)')
  t.match(served.headers, SAFE)
})

t.test('a PNG header followed by <html><script> is a PNG: stored as .png, served as image/png with nosniff', async (t) => {
  const server = await startServer(t)
  const res = await post(server, form([{ name: 'avatar', filename: 'page.png', content: png(16, 16, Buffer.from(HTML_SCRIPT)) }]))
  const file = await assertStored(t, server, res, 'avatar', 'avatars/page.png')
  const served = await get(server, file.url)
  t.equal(served.headers['content-type'], 'image/png')
  t.match(served.headers, SAFE)
  const asHtml = await post(server, form([{ name: 'avatar', filename: 'page.html', content: png(16, 16, Buffer.from(HTML_SCRIPT)) }]))
  await assertRefused(t, server, asHtml, 400, 'FST_MEDIA_EXTENSION_MISMATCH', ['media/avatars/page.png'])
})

t.test('a PDF followed by HTML is a PDF: served as application/pdf in a sandbox', async (t) => {
  const server = await startServer(t)
  const res = await post(server, form([{ name: 'doc', filename: 'r.pdf', content: Buffer.concat([fixture('fixture-minimal.pdf'), Buffer.from(HTML_SCRIPT)]) }]))
  const file = await assertStored(t, server, res, 'doc', 'docs/r.pdf')
  const served = await get(server, file.url)
  t.equal(served.headers['content-type'], 'application/pdf')
  t.match(served.headers, SAFE)
})

t.test('SVG with onload and <script>: refused by an ImageField, stored by a FileField that names SVG and served as an attachment in a sandbox', async (t) => {
  const server = await startServer(t)
  const refused = await post(server, form([{ name: 'avatar', filename: 'logo.svg', contentType: 'image/svg+xml', content: SVG_SCRIPT }]))
  await assertRefused(t, server, refused, 400, 'FST_MEDIA_INVALID_TYPE')
  const notNamed = await post(server, form([{ name: 'doc', filename: 'logo.svg', contentType: 'image/svg+xml', content: SVG_SCRIPT }]))
  await assertRefused(t, server, notNamed, 400, 'FST_MEDIA_INVALID_TYPE')

  const res = await post(server, form([{ name: 'vector', filename: 'logo.svg', contentType: 'image/svg+xml', content: SVG_SCRIPT }]))
  const file = await assertStored(t, server, res, 'vector', 'vectors/logo.svg')
  const served = await get(server, file.url)
  t.equal(served.headers['content-type'], 'image/svg+xml')
  t.equal(served.headers['content-disposition'], 'attachment')
  t.match(served.headers, SAFE)
})

t.test('a text/html upload is refused, to a field of any type and to a text field', async (t) => {
  const server = await startServer(t)
  const res = await post(server, form([{ name: 'doc', filename: 'index.html', contentType: 'text/html', content: HTML_SCRIPT }]))
  await assertRefused(t, server, res, 400, 'FST_MEDIA_INVALID_TYPE')
  const text = await post(server, form([{ name: 'notes', filename: 'index.html', contentType: 'text/html', content: HTML_SCRIPT }]))
  await assertRefused(t, server, text, 400, 'FST_MEDIA_EXTENSION_MISMATCH')
  // named .txt it is plain text, and plain text is served as text/plain with nosniff: it never renders
  const txt = await post(server, form([{ name: 'notes', filename: 'index.txt', contentType: 'text/html', content: HTML_SCRIPT }]))
  const file = await assertStored(t, server, txt, 'notes', 'notes/index.txt')
  const served = await get(server, file.url)
  t.equal(served.headers['content-type'], 'text/plain; charset=utf-8')
  t.match(served.headers, SAFE)
})

t.test('a zero-byte file is too small', async (t) => {
  const server = await startServer(t)
  const res = await post(server, form([{ name: 'doc', filename: 'empty.pdf', content: '' }]))
  await assertRefused(t, server, res, 400, 'FST_MEDIA_FILE_TOO_SMALL')
})

/**
 * Counts the decodes of every sharp instance of this process (the server runs in it, and lib/ imports the
 * same sharp): each output (toBuffer, toFile, a stream) runs `_pipeline`, and `stats()` decodes too.
 * `metadata()`, which reads only the header, is not counted.
 */
function countDecodes (t: Test): { decodes: number } {
  const counted = { decodes: 0 }
  const proto = sharp.prototype as unknown as Record<'_pipeline' | 'stats', (...args: unknown[]) => unknown>
  for (const method of ['_pipeline', 'stats'] as const) {
    const original = proto[method]
    proto[method] = function (this: unknown, ...args: unknown[]) {
      counted.decodes++
      return original.apply(this, args)
    }
    t.teardown(() => { proto[method] = original })
  }
  return counted
}

t.test('a PNG whose IHDR says 60000 x 60000 is refused from its header: no decode, even for a field that verifies by decoding', async (t) => {
  const server = await startServer(t)
  const decodes = countDecodes(t)
  for (const name of ['avatar', 'strict', 'clean']) {
    const res = await post(server, form([{ name, filename: 'bomb.png', content: png(60000, 60000) }]))
    await assertRefused(t, server, res, 400, 'FST_MEDIA_INVALID_IMAGE')
    t.match(res.body, /60000x60000 is more than \d+ pixels/, name)
  }
  // decoding it would need 14.4 GB: sharp was never asked to
  t.equal(decodes.decodes, 0, 'no decode')
  // the count sees lib's decodes: the same request with a real PNG to the field that verifies decodes once
  const res = await post(server, form([{ name: 'strict', filename: 'ok.png', content: fixture('fixture.png') }]))
  await assertStored(t, server, res, 'strict', 'strict/ok.png')
  t.equal(decodes.decodes, 1, 'a real PNG to the verifying field: one decode, counted')
})

/**
 * Counts what every DecompressionStream of this process outputs (the server runs in it): the zip sniffer
 * inflates entries through the global one.
 */
function countInflatedBytes (t: Test): { bytes: number } {
  const counted = { bytes: 0 }
  const Original = globalThis.DecompressionStream
  class Counting extends Original {
    constructor (format: ConstructorParameters<typeof DecompressionStream>[0]) {
      super(format)
      const count = new TransformStream<Uint8Array, Uint8Array>({
        transform (chunk, controller) {
          counted.bytes += chunk.length
          controller.enqueue(chunk)
        }
      })
      Object.defineProperty(this, 'readable', { value: super.readable.pipeThrough(count) })
    }
  }
  globalThis.DecompressionStream = Counting
  t.teardown(() => { globalThis.DecompressionStream = Original })
  return counted
}

t.test('a 255 KB zip whose [Content_Types].xml inflates to 64 MB: detection stays bounded, it is a zip', async (t) => {
  const server = await startServer(t)
  const zip = zipWithHugeContentTypes(64 * 1024 * 1024)
  const content = Buffer.concat([zip, Buffer.alloc(255 * 1024 - zip.length, 0x20)])
  t.equal(content.length, 255 * 1024)
  const inflated = countInflatedBytes(t)
  const res = await post(server, form([{ name: 'doc', filename: 'doc.zip', content }]))
  // the sniffer skips an entry whose declared size passes its limit or stops it at 1 MiB; inflating it
  // whole would count 64 MiB here
  t.ok(inflated.bytes <= 2 * 1024 * 1024, `the entry was not inflated whole: ${inflated.bytes} bytes`)
  await assertStored(t, server, res, 'doc', 'docs/doc.zip')
})

t.test('media responses carry the safe headers for HEAD, Range and conditional requests too', async (t) => {
  const server = await startServer(t)
  const res = await post(server, form([{ name: 'vector', filename: 'v.svg', content: SVG_SCRIPT }]))
  const file = await assertStored(t, server, res, 'vector', 'vectors/v.svg')
  const origin = `http://127.0.0.1:${server.port}`
  const full = await request(origin + file.url)
  await full.body.dump()
  for (const [method, headers, status] of [
    ['HEAD', {}, 200],
    ['GET', { range: 'bytes=0-3' }, 206],
    ['GET', { 'if-none-match': String(full.headers.etag) }, 304]
  ] as const) {
    const r = await request(origin + file.url, { method, headers })
    await r.body.dump()
    t.equal(r.statusCode, status, `${method} ${JSON.stringify(headers)}`)
    t.match(r.headers, SAFE)
    if (status !== 304) t.equal(r.headers['content-disposition'], 'attachment')
  }
  await assertAlive(t, server)
})

t.test('a truncated JPEG (its first 10 000 bytes): verify: \'decode\' refuses it; a header-only field stores it', async (t) => {
  const server = await startServer(t)
  const whole = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 30 } } }).jpeg().toBuffer()
  const truncated = whole.subarray(0, 10_000)
  const res = await post(server, form([{ name: 'strict', filename: 'cut.jpg', contentType: 'image/jpeg', content: truncated }]))
  await assertRefused(t, server, res, 400, 'FST_MEDIA_INVALID_IMAGE')
  t.match(res?.body, /the image cannot be decoded/)
  const lenient = await post(server, form([{ name: 'avatar', filename: 'cut.jpg', contentType: 'image/jpeg', content: truncated }]))
  await assertStored(t, server, lenient, 'avatar', 'avatars/cut.jpg')
})

t.test('sanitize: a PNG with <html><script> after its data is stored without it', async (t) => {
  const server = await startServer(t)
  const polyglot = Buffer.concat([fixture('fixture.png'), Buffer.from(HTML_SCRIPT)])
  const res = await post(server, form([{ name: 'clean', filename: 'poly.png', contentType: 'image/png', content: polyglot }]))
  const file = await assertStored(t, server, res, 'clean', 'clean/poly.png')
  const served = await get(server, file.url)
  t.equal(served.status, 200)
  t.notMatch(served.body, /<script/i, 'the script is gone from the stored bytes')
})
