// Hostile file names: every one is refused with FST_MEDIA_INVALID_NAME or stored under a precise, clean
// name inside the root; never a path outside it, never ENAMETOOLONG, never a name a server would run.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { assertAlive, assertFiles, assertRefused, assertStored, fixture, form, get, post, rawPart, safeJson, startServer, storedFiles } from './harness.js'
import { png } from './payloads.js'

const PNG = png(16, 16)
const JPEG = fixture('fixture.jpg')

// [the filename as the client writes it, the name it is stored under]
const CLEANED: Array<[string, string]> = [
  ['../../a1.png', 'docs/a1.png'],
  ['..\\\\..\\\\a2.png', 'docs/a2.png'],
  ['/tmp/a3.png', 'docs/a3.png'],
  ['C:\\\\Windows\\\\a4.png', 'docs/a4.png'],
  ['\\\\\\\\srv\\\\share\\\\a5.png', 'docs/a5.png'],
  ['..&#x2F;a6.png', 'docs/x2Fa6.png'],
  ['a\u0000b\u0007c\u001bd.png', 'docs/abcd.png'],
  ['evil\u202Egnp.png', 'docs/evilgnp.png'],
  ['\uFF0E\uFF0E\uFF0F\uFF0E\uFF0E\uFF0Fa7.png', 'docs/a7.png'],
  ['a8\uFF0Epng', 'docs/a8png.png'],
  ['CON.png', 'docs/_CON.png'],
  ['nul', 'docs/_nul.png'],
  ['LPT9.png', 'docs/_LPT9.png'],
  ['a9.png.', 'docs/a9.png'],
  ['a10.png ', 'docs/a10.png'],
  ['  a11 b .png', 'docs/a11_b_.png'],
  ['a12.png . ', 'docs/a12.png'],
  ['a13.png?', 'docs/a13.png'],
  ['.htaccess', 'docs/htaccess.png'],
  ['.env', 'docs/env.png'],
  ['staticfiles.png', 'docs/staticfiles.png'],
  ['app.3f2a9c1be0d4.png', 'docs/app.3f2a9c1be0d4.png'],
  ['a'.repeat(296) + '.png', 'docs/' + 'a'.repeat(246) + '.png'],
  ['\u6771'.repeat(100) + '.png', 'docs/' + '\u6771'.repeat(82) + '.png']
]

t.test('names that are cleaned: stored under exactly this name, inside the root', async (t) => {
  const server = await startServer(t)
  for (const [filename, stored] of CLEANED) {
    t.test(JSON.stringify(filename), async (t) => {
      const before = storedFiles(server)
      const res = await post(server, form([{ name: 'doc', filename, content: PNG }]))
      const file = await assertStored(t, server, res, 'doc', stored, before)
      t.ok(Buffer.byteLength(file.name) <= 255, 'at most 255 bytes')
      t.equal((await get(server, file.url)).status, 200, 'served at its URL')
    })
  }
})

t.test('names with nothing usable left are refused', async (t) => {
  const server = await startServer(t)
  for (const filename of ['', '.', '..', '...', '???', '$.$.$', '\u202E', '\u0000', ' ', '._-']) {
    t.test(JSON.stringify(filename), async (t) => {
      const res = await post(server, form([{ name: 'doc', filename, content: PNG }]))
      await assertRefused(t, server, res, 400, 'FST_MEDIA_INVALID_NAME')
    })
  }
})

t.test('NFD and NFC spellings of one name are one name: the second gets a suffix', async (t) => {
  const server = await startServer(t)
  const nfd = 'caf\u0065\u0301.png'
  const first = await post(server, form([{ name: 'doc', filename: nfd, content: PNG }]))
  await assertStored(t, server, first, 'doc', 'docs/caf\u00e9.png')
  const second = await post(server, form([{ name: 'doc', filename: nfd.normalize('NFC'), content: PNG }]))
  t.match(safeJson(second.body).doc.name, /^docs\/caf\u00e9_[A-Za-z0-9]{7}\.png$/)
})

t.test('an inner extension a web server would run is defused: shell.php.jpg is stored as shell_php.jpg', async (t) => {
  const server = await startServer(t)
  for (const [filename, stored] of [['shell.php.jpg', 'docs/shell_php.jpg'], ['x.PHTML.jpg', 'docs/x_PHTML.jpg'], ['cgi.pl.cgi.jpg', 'docs/cgi_pl_cgi.jpg'], ['report.final.jpg', 'docs/report.final.jpg'], ['php.jpg', 'docs/php.jpg'], ['a.ASPX.jsp.Php5.shtml.jpg', 'docs/a_ASPX_jsp_Php5_shtml.jpg']] as const) {
    const before = storedFiles(server)
    const res = await post(server, form([{ name: 'doc', filename, content: JPEG }]))
    await assertStored(t, server, res, 'doc', stored, before)
  }
})

t.test('x.pHp: PHP is refused for its content, an image for its extension', async (t) => {
  const server = await startServer(t)
  await assertRefused(t, server, await post(server, form([{ name: 'doc', filename: 'x.pHp', content: '<?php echo 1; ?>' }])), 400, 'FST_MEDIA_INVALID_TYPE')
  await assertRefused(t, server, await post(server, form([{ name: 'doc', filename: 'x.pHp', content: PNG }])), 400, 'FST_MEDIA_EXTENSION_MISMATCH')
})

t.test('Windows device names with superscript digits (COM¹, LPT³) are device names too', async (t) => {
  const server = await startServer(t)
  for (const [filename, stored] of [['com\u00b9.png', 'docs/_com\u00b9.png'], ['LPT\u00b3.png', 'docs/_LPT\u00b3.png'], ['com\u2074.png', 'docs/com\u2074.png']] as const) {
    const before = storedFiles(server)
    await assertStored(t, server, await post(server, form([{ name: 'doc', filename, content: PNG }])), 'doc', stored, before)
  }
})

t.test('RFC 2231 filename*=UTF-8\'\'..%2F..%2Fx.png is decoded, then reduced to its base name', async (t) => {
  const server = await startServer(t)
  const res = await post(server, form([rawPart('Content-Disposition: form-data; name="doc"; filename*=UTF-8\'\'..%2F..%2Fx.png\r\nContent-Type: image/png', PNG)]))
  await assertStored(t, server, res, 'doc', 'docs/x.png')
})

t.test('a bare CR or LF in a name or filename: the part is dropped by the parser, nothing is stored', async (t) => {
  const server = await startServer(t)
  for (const disposition of ['name="doc"; filename="a\rb.png"', 'name="doc"; filename="a\nb.png"', 'name="do\rc"; filename="a.png"', 'name="do\nc"; filename="a.png"']) {
    const res = await post(server, form([rawPart(`Content-Disposition: form-data; ${disposition}\r\nContent-Type: image/png`, PNG)]))
    t.equal(res.status, 201, JSON.stringify(disposition))
    t.equal(safeJson(res.body).doc, null)
    await assertFiles(t, server, [])
    await assertAlive(t, server)
  }
})

t.test('uploads named like static outputs land in the media root; the static files and manifest are untouched', async (t) => {
  const server = await startServer(t, {
    media: {
      mode: 'production',
      static: { url: '/static/', root: 'staticfiles' }
    }
  })
  const staticRoot = join(server.dir, 'staticfiles')
  mkdirSync(staticRoot, { recursive: true })
  writeFileSync(join(staticRoot, 'staticfiles.json'), JSON.stringify({ version: '1.1', paths: { 'app.js': 'app.3f2a9c1be0d4.js' } }))
  writeFileSync(join(staticRoot, 'app.3f2a9c1be0d4.js'), 'console.log("real")')
  writeFileSync(join(staticRoot, 'app.js'), 'console.log("real")')
  const manifest = JSON.stringify({ version: '1.1', paths: { 'app.js': 'evil.js' } })
  const json = await post(server, form([{ name: 'notes', filename: 'staticfiles.json', content: manifest }]))
  await assertStored(t, server, json, 'notes', 'notes/staticfiles.json')
  const js = await post(server, form([{ name: 'notes', filename: 'app.3f2a9c1be0d4.js', content: 'alert(1)' }]))
  await assertRefused(t, server, js, 400, 'FST_MEDIA_EXTENSION_MISMATCH', ['media/notes/staticfiles.json'])
  t.equal(server.app.media.static('app.js'), '/static/app.3f2a9c1be0d4.js', 'the manifest is the one in static.root')
  t.equal((await get(server, '/static/app.3f2a9c1be0d4.js')).body, 'console.log("real")')
})
