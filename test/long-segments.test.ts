// Every path segment of a stored name fits 255 bytes (the file system's limit), directories included:
// an uploadTo directory of 300 bytes is cut at its end, as the file name's stem is, instead of a 500.
import t from 'tap'
import { FileField } from '../lib/index.js'
import { fitName } from '../lib/storage/valid-name.js'
import { makeApp, postForm } from './helpers.js'

t.test('a 300-byte directory with maxLength 1000: stored under a 255-byte directory and served', async (t) => {
  const { app } = await makeApp(t)
  const Note = app.media.model('note', { text: FileField({ uploadTo: `${'d'.repeat(300)}/sub/`, accept: ['text/plain'], maxLength: 1000 }) })
  app.post('/notes', { upload: Note }, async (req, reply) => await reply.code(201).send(req.uploads))
  const res = await postForm(app, '/notes', [{ name: 'text', filename: 'n.txt', content: 'hello', contentType: 'text/plain' }])
  t.equal(res.statusCode, 201, res.body)
  const { name, url } = res.json().text as { name: string, url: string }
  t.equal(name, `${'d'.repeat(255)}/sub/n.txt`)
  t.ok(name.split('/').every((segment) => Buffer.byteLength(segment) <= 255), 'every segment within 255 bytes')
  const served = await app.inject(url)
  t.equal(served.statusCode, 200)
  t.equal(served.body, 'hello')
})

t.test('directory segments are cut by bytes, never inside a character; a cut that leaves only dots is refused', async (t) => {
  t.equal(fitName(`${'é'.repeat(200)}/a.txt`, 1000), `${'é'.repeat(127)}/a.txt`, '254 bytes: the 128th é would pass 255')
  t.equal(fitName(`${'.'.repeat(300)}x/a.txt`, 1000), undefined)
  t.equal(fitName(`a/${'b'.repeat(300)}/c/${'n'.repeat(300)}.txt`, 1000), `a/${'b'.repeat(255)}/c/${'n'.repeat(251)}.txt`, 'each segment, the last one keeping its extension')
})
