import t from 'tap'
import { join } from 'node:path'
import { FileField, ImageField, type FileFieldOptions, type ImageFieldOptions } from '../lib/index.js'
import { filesUnder, fixture, makeApp, postForm, type Tap } from './helpers.js'

async function uploadOne (t: Tap, kind: 'file' | 'image', options: FileFieldOptions & ImageFieldOptions, filename: string, content: Buffer | string, chunkSize?: number) {
  const { app, dir } = await makeApp(t)
  const Upload = app.media.model('upload', { file: kind === 'image' ? ImageField(options) : FileField(options) })
  app.post('/u', { upload: Upload }, async (req) => req.uploads)
  const res = await postForm(app, '/u', [{ name: 'file', filename, content }], { chunkSize })
  return { res, files: filesUnder(join(dir, 'media')), dir }
}

t.test('real images are accepted by ImageField with their dimensions', async (t) => {
  const cases: Array<[string, string, string, number, number]> = [
    ['fixture.png', 'a.png', 'image/png', 200, 133],
    ['fixture.jpg', 'a.jpg', 'image/jpeg', 200, 133],
    ['fixture.jpg', 'a.JPEG', 'image/jpeg', 200, 133],
    ['fixture.gif', 'a.gif', 'image/gif', 200, 133],
    ['fixture.webp', 'a.webp', 'image/webp', 200, 133],
    ['fixture-yuv420-8bit.avif', 'a.avif', 'image/avif', 2048, 858],
    ['fixture-itxt.png', 'a.png', 'image/png', 200, 133]
  ]
  for (const [file, name, type, width, height] of cases) {
    const { res, files } = await uploadOne(t, 'image', { uploadTo: 'img/' }, name, fixture(file))
    t.equal(res.statusCode, 200, `${file}: ${res.body}`)
    const body = res.json().file
    t.match(body, { contentType: type, width, height, size: fixture(file).length }, file)
    t.match(body.name, /^img\/a\.(png|jpg|gif|webp|avif)$/)
    t.same(files, [body.name], `${file}: stored once, no temp file`)
  }
})

t.test('stored names end in the detected extension', async (t) => {
  const { res } = await uploadOne(t, 'image', {}, 'holiday', fixture('fixture.jpg'))
  t.equal(res.json().file.name, 'holiday.jpg', 'no extension: the detected one is added')
  const upper = await uploadOne(t, 'image', {}, 'A.JPEG', fixture('fixture.jpg'))
  t.equal(upper.res.json().file.name, 'A.jpg', 'jpeg and jpg are the same file')
})

t.test('executables, archives and corrupt images renamed .png are refused, nothing stored', async (t) => {
  for (const file of ['fixture.exe', 'fixture.elf', 'fixture.zip', 'fixture-corrupt.png', 'fixture.pdf']) {
    const { res, files } = await uploadOne(t, 'image', {}, 'avatar.png', fixture(file))
    t.equal(res.statusCode, 400, file)
    t.equal(res.json().code, 'FST_MEDIA_INVALID_TYPE', file)
    t.match(res.json().message, /^file: /, 'the message names the field')
    t.same(files, [], `${file}: nothing stored`)
  }
})

t.test('office files are told from zip', async (t) => {
  const xlsx = await uploadOne(t, 'file', { accept: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'] }, 'sheet.xlsx', fixture('fixture.xlsx'))
  t.equal(xlsx.res.statusCode, 200, xlsx.res.body)
  t.match(xlsx.res.json().file, { name: 'sheet.xlsx', contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' })
  const docx = await uploadOne(t, 'file', { accept: ['.docx'] }, 'letter.docx', fixture('fixture.docx'))
  t.equal(docx.res.statusCode, 200, docx.res.body)
  const zipAsXlsx = await uploadOne(t, 'file', { accept: ['.xlsx'] }, 'sheet.xlsx', fixture('fixture.zip'))
  t.equal(zipAsXlsx.res.json().code, 'FST_MEDIA_INVALID_TYPE')
  const xlsxAsZip = await uploadOne(t, 'file', { accept: ['application/zip'] }, 'x.zip', fixture('fixture.xlsx'))
  t.equal(xlsxAsZip.res.json().code, 'FST_MEDIA_INVALID_TYPE', 'an xlsx is not a plain zip')
})

t.test('pdf is accepted; accept checks the detected type, not the client\'s', async (t) => {
  for (const file of ['fixture.pdf', 'fixture-minimal.pdf']) {
    const { res } = await uploadOne(t, 'file', { accept: ['application/pdf'] }, 'doc.pdf', fixture(file))
    t.equal(res.statusCode, 200, file)
    t.match(res.json().file, { name: 'doc.pdf', contentType: 'application/pdf' })
  }
  const wildcard = await uploadOne(t, 'file', { accept: ['image/*'] }, 'a.png', fixture('fixture.png'))
  t.equal(wildcard.res.statusCode, 200, 'type/* wildcard')
  const byExt = await uploadOne(t, 'file', { accept: ['.pdf'] }, 'a.png', fixture('fixture.png'))
  t.equal(byExt.res.json().code, 'FST_MEDIA_INVALID_TYPE')
  t.match(byExt.res.json().message, /image\/png is not accepted/)
  const any = await uploadOne(t, 'file', {}, 'song.mp3', fixture('fixture.mp3'))
  t.equal(any.res.statusCode, 200, 'FileField without accept takes any detectable type')
})

t.test('the client\'s extension must agree with the content', async (t) => {
  const cases: Array<[string, string]> = [
    ['fixture.png', 'photo.jpg'],
    ['fixture.pdf', 'report.exe'],
    ['fixture.png', 'image.final']
  ]
  for (const [file, name] of cases) {
    const { res, files } = await uploadOne(t, 'file', {}, name, fixture(file))
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().code, 'FST_MEDIA_EXTENSION_MISMATCH', name)
    t.same(files, [])
  }
})

t.test('text formats: only when named, only UTF-8 without NUL, never a binary signature', async (t) => {
  const ok = async (accept: string[], name: string, content: string | Buffer, type: string, stored: string) => {
    const { res } = await uploadOne(t, 'file', { accept }, name, content)
    t.equal(res.statusCode, 200, `${name}: ${res.body}`)
    t.match(res.json().file, { contentType: type, name: stored }, name)
  }
  const refused = async (accept: string[] | undefined, name: string, content: string | Buffer) => {
    const { res, files } = await uploadOne(t, 'file', accept === undefined ? {} : { accept }, name, content)
    t.equal(res.json().code, 'FST_MEDIA_INVALID_TYPE', `${name}: ${res.body}`)
    t.same(files, [])
  }
  await ok(['text/plain'], 'notes.txt', 'hello\nworld — ünïcode', 'text/plain', 'notes.txt')
  await ok(['text/plain'], 'notes', 'no extension', 'text/plain', 'notes.txt')
  await ok(['text/csv', 'text/plain'], 'data.csv', 'a,b\n1,2\n', 'text/csv', 'data.csv')
  await ok(['text/*'], 'data.csv', 'a,b\n1,2\n', 'text/csv', 'data.csv')
  await ok(['application/json'], 'data.json', '{"a": 1}', 'application/json', 'data.json')
  await ok(['application/json', 'text/plain'], 'notes.txt', '{"looks": "json"}', 'text/plain', 'notes.txt')
  await ok(['image/svg+xml'], 'logo.svg', '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', 'image/svg+xml', 'logo.svg')
  await ok(['.svg'], 'logo.svg', '<svg xmlns="http://www.w3.org/2000/svg"></svg>', 'image/svg+xml', 'logo.svg')
  await refused(undefined, 'notes.txt', 'text is never accepted by default')
  await refused(['text/plain'], 'notes.txt', Buffer.from('nul\u0000inside'))
  await refused(['text/plain'], 'notes.txt', Buffer.from([0x68, 0xff, 0xfe, 0x69]))
  await refused(['text/plain'], 'notes.txt', 'MZ this text starts like an exe')
  await refused(['text/plain'], 'notes.txt', '%PDF-1.4 pretending')
  await refused(['application/json'], 'data.json', 'not json at all')
  await refused(['image/*'], 'logo.svg', '<svg xmlns="http://www.w3.org/2000/svg"></svg>')
  await refused(['text/plain'], 'logo.svg', '<svg xmlns="http://www.w3.org/2000/svg"></svg>')
  await refused(['image/svg+xml'], 'fake.svg', 'plain words')
  await refused(['text/plain'], 'feed.xml', Buffer.concat([fixture('fixture.xml').subarray(0, 10), Buffer.from([0])]))
})

t.test('text is checked as it streams, past the sniffing window', async (t) => {
  const big = Buffer.concat([Buffer.from('a'.repeat(300_000)), Buffer.from([0xc3, 0x28]), Buffer.from('tail')])
  const { res, files } = await uploadOne(t, 'file', { accept: ['text/plain'] }, 'big.txt', big, 65_536)
  t.equal(res.json().code, 'FST_MEDIA_INVALID_TYPE')
  const nul = Buffer.concat([Buffer.from('a'.repeat(300_000)), Buffer.from([0]), Buffer.from('tail')])
  const late = await uploadOne(t, 'file', { accept: ['text/plain'] }, 'nul.txt', nul, 65_536)
  t.equal(late.res.json().code, 'FST_MEDIA_INVALID_TYPE', 'a NUL past the window')
  t.same(files, [])
  const cut = Buffer.concat([Buffer.from('a'.repeat(100_000)), Buffer.from([0xe6, 0x9d])])
  const truncated = await uploadOne(t, 'file', { accept: ['text/plain'] }, 'cut.txt', cut, 65_536)
  t.equal(truncated.res.json().code, 'FST_MEDIA_INVALID_TYPE', 'a character cut at the end')
  const good = await uploadOne(t, 'file', { accept: ['text/plain'] }, 'big.txt', Buffer.from('東'.repeat(40_000)))
  t.equal(good.res.statusCode, 200)
})

t.test('SVG to an ImageField: refused unless named in formats', async (t) => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="30" height="20"><rect width="30" height="20"/></svg>'
  const refused = await uploadOne(t, 'image', {}, 'logo.svg', svg)
  t.equal(refused.res.json().code, 'FST_MEDIA_INVALID_TYPE')
  const accepted = await uploadOne(t, 'image', { formats: ['svg'] }, 'logo.svg', svg)
  t.equal(accepted.res.statusCode, 200, accepted.res.body)
  t.match(accepted.res.json().file, { contentType: 'image/svg+xml', width: 30, height: 20 })
})
