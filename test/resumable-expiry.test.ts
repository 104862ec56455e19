import t from 'tap'
import Fastify from 'fastify'
import { once } from 'node:events'
import { readdirSync, rmSync, watch } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import fastifyMedia, { FileField } from '../lib/index.js'
import { tempDir } from './helpers.js'
import { listen, within } from './http-helpers.js'
import { mp4, tusUpload } from './resumable-app.js'

t.test('the expiry timer removes an upload older than expiresIn, and logs a run that failed', async (t) => {
  const dir = tempDir(t)
  const lines: Array<{ msg: string, err?: { code?: string } }> = []
  const logged = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()))
      logged.emit('line')
      done()
    }
  })
  const app = Fastify({ logger: { level: 'error', stream: logged } })
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: false })
  const Clip = app.media.model('clip', { video: FileField({ accept: ['video/mp4'] }) })
  await app.register(app.media.resumable('/files', { fields: [Clip.fields.video], expiresIn: 1, expireEvery: 1 }))
  const { origin } = await listen(app)
  const uploads = join(dir, 'media', '.resumable')

  // the timer's removal is the event: the directory changes as the upload and its record go
  const watcher = watch(uploads)
  t.teardown(() => watcher.close())
  await tusUpload(origin, mp4(10_000), { filename: 'a.mp4' })
  t.equal(readdirSync(uploads).length, 2, 'the upload and its record')
  while (readdirSync(uploads).length > 0) await within(once(watcher, 'change'), 'the timer removing the upload')
  t.pass('gone, within a tick of the timer once a second old')

  watcher.close()
  rmSync(uploads, { recursive: true })
  await within(once(logged, 'line'), 'the failed run logged')
  t.match(lines[0], { msg: 'fastify-media: expiring resumable uploads failed', err: { code: 'ENOENT' } })
})
