// One request is all or nothing, over real HTTP: a later failure (a second file, the handler, a >= 400
// reply) removes every file the request had already stored, before the client hears back.
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { FileField, ImageField, type FieldFile } from '../lib/index.js'
import { filesUnder, fixture, makeApp } from './helpers.js'
import { body, CLOSING, filler, listen, mediaRootOf, MULTIPART, PART_END, partHead } from './http-helpers.js'
import { WatchedStorage } from './watched-storage.js'

const MB = 1_000_000

type Behaviour = 'ok' | 'throw' | 'conflict'

async function setup (t: Test, behaviour: Behaviour) {
  const storage = new WatchedStorage()
  const { app, dir } = await makeApp(t, { storages: { default: storage } })
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/' }),
    doc: FileField({ uploadTo: 'docs/', accept: ['application/pdf'], maxSize: '1 MB' })
  })
  // what the handler saw: the files exist on disk while it runs
  const seen: { names: string[], existed: boolean[] } = { names: [], existed: [] }
  app.post('/profiles', { upload: Profile }, async (req, reply) => {
    const files: FieldFile[] = [req.uploads.avatar, req.uploads.doc]
    seen.names = files.map((file) => file.name)
    seen.existed = await Promise.all(files.map((file) => file.storage.exists(file.name)))
    if (behaviour === 'throw') throw new Error('the database is down')
    if (behaviour === 'conflict') return reply.code(409).send({ conflict: true })
    return reply.code(201).send(req.uploads)
  })
  const { origin } = await listen(app)
  return { root: mediaRootOf(dir), origin, seen, storage }
}

const validBody = (): Buffer => body([
  { name: 'avatar', filename: 'me.png', content: fixture('fixture.png') },
  { name: 'doc', filename: 'cv.pdf', content: fixture('fixture.pdf') }
])

const post = async (origin: string, payload: Buffer | AsyncIterable<Buffer>) => await request(`${origin}/profiles`, {
  method: 'POST',
  headers: { 'content-type': MULTIPART },
  body: Buffer.isBuffer(payload) ? payload : Readable.from(payload),
  headersTimeout: 10_000,
  bodyTimeout: 10_000
})

t.test('the second of two files fails: the first, already stored, is removed too', async (t) => {
  const { root, origin, seen, storage } = await setup(t, 'ok')
  const stored = { first: false }
  const firstSaved = storage.next('saved', 'avatars/me.png')

  async function * payload (): AsyncGenerator<Buffer> {
    yield partHead('avatar', 'me.png', 'image/png')
    yield fixture('fixture.png')
    yield PART_END
    // the next part's header ends the first part for the parser; its content waits until the first file
    // is on disk, so the failure really comes after a file was stored
    yield partHead('doc', 'huge.pdf', 'application/pdf')
    await firstSaved
    stored.first = filesUnder(root).includes('avatars/me.png')
    yield Buffer.from('%PDF-1.4\n')
    yield * filler(3 * MB)
    yield PART_END
    yield CLOSING
  }

  const res = await post(origin, payload())
  const json = await res.body.json() as { code: string }
  t.ok(stored.first, 'the first file had been stored before the second failed')
  t.equal(res.statusCode, 413)
  t.equal(json.code, 'FST_MEDIA_FILE_TOO_LARGE')
  t.same(filesUnder(root), [], 'nothing is stored, no temp file either, by the time the response arrives')
  t.same(seen.names, [], 'the handler never ran')
})

t.test('a handler that throws after the uploads leaves nothing', async (t) => {
  const { root, origin, seen } = await setup(t, 'throw')
  const res = await post(origin, validBody())
  const json = await res.body.json() as { statusCode: number }
  t.equal(res.statusCode, 500)
  t.equal(json.statusCode, 500)
  t.same(seen.names, ['avatars/me.png', 'docs/cv.pdf'], 'the handler got both files')
  t.same(seen.existed, [true, true], 'both were on disk while it ran')
  t.same(filesUnder(root), [], 'both are gone by the time the response arrives')
})

t.test('a handler that replies 409 leaves nothing', async (t) => {
  const { root, origin, seen } = await setup(t, 'conflict')
  const res = await post(origin, validBody())
  t.equal(res.statusCode, 409)
  t.same(await res.body.json(), { conflict: true }, 'the handler\'s own reply is sent')
  t.same(seen.existed, [true, true], 'both files were on disk while the handler ran')
  t.same(filesUnder(root), [], 'both are gone by the time the response arrives')
})

t.test('control: a handler that succeeds keeps both files', async (t) => {
  const { root, origin, seen } = await setup(t, 'ok')
  const res = await post(origin, validBody())
  const json = await res.body.json() as { avatar: { name: string }, doc: { name: string } }
  t.equal(res.statusCode, 201)
  t.same([json.avatar.name, json.doc.name], seen.names)
  t.same(filesUnder(root), ['avatars/me.png', 'docs/cv.pdf'], 'both files stay, and no temp file is left')
})
