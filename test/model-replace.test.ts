import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Disk, FieldFile, FileField, ImageField, S3Storage, type RecordOf } from '../lib/index.js'
import { keysUnder } from './direct-helpers.js'
import { MapDriver } from './drivers/map-driver.js'
import { filesUnder, fixture, makeApp, postForm, type Tap } from './helpers.js'
import { s3Bucket } from './s3-server.js'

const png = fixture('fixture.png')
const gif = fixture('fixture.gif')
const pdf = fixture('fixture.pdf')

const fields = (storage = 'default') => ({
  avatar: ImageField({ storage, uploadTo: 'a/', required: false, variants: { thumb: { width: 20, format: 'webp' } } }),
  document: FileField({ storage, uploadTo: 'd/', accept: ['application/pdf'], required: false }),
  photos: ImageField({ storage, uploadTo: 'p/', multiple: true, required: false })
})

/** An app on disk with a profile model, an old record (avatar with its variant, document, two photos) saved. */
async function diskProfile (t: Tap) {
  const { app, dir } = await makeApp(t)
  const Profile = app.media.model('profile', fields())
  const f = Profile.fields
  const old = Profile.toRecord({
    avatar: await f.avatar.save('old.png', png),
    document: await f.document.save('cv.pdf', pdf),
    photos: [await f.photos.save('one.png', png), await f.photos.save('two.png', png)]
  })
  return { app, Profile, old, media: join(dir, 'media') }
}

const OLD_FILES = ['a/old.png', 'a/old.png@thumb.webp', 'd/cv.pdf', 'p/one.png', 'p/two.png']

t.test('a failing commit: its error is thrown, the old files stay and no new file is left', async (t) => {
  const { Profile, old, media } = await diskProfile(t)
  const avatar = await Profile.fields.avatar.save('new.png', png)
  const photo = await Profile.fields.photos.save('three.gif', gif)
  t.same(filesUnder(media), [...OLD_FILES, 'a/new.png', 'a/new.png@thumb.webp', 'p/three.gif'].sort(), 'the new files are stored')
  const failure = new Error('database down')
  await t.rejects(Profile.replace(old, { avatar, photos: [photo] }, { commit: async () => { throw failure } }), failure)
  t.same(filesUnder(media), OLD_FILES, 'exactly the old files')
})

t.test('a successful commit: only the new files remain, the old file and its variant gone; a field not replaced keeps its file', async (t) => {
  const { Profile, old, media } = await diskProfile(t)
  const avatar = await Profile.fields.avatar.save('new.png', png)
  const photo = await Profile.fields.photos.save('three.gif', gif)
  let seen: unknown
  const result = await Profile.replace(old, { avatar, document: null, photos: [photo] }, {
    commit: async (changes) => {
      seen = changes
      t.ok(existsSync(join(media, 'a/old.png')) && existsSync(join(media, 'a/new.png')), 'while commit runs, the old and the new files are there')
      return 'row 1'
    }
  })
  t.equal(result, 'row 1', 'resolves to what commit returned')
  t.same(seen, { avatar: 'a/new.png', photos: ['p/three.gif'] }, 'commit gets the names of the replaced fields only')
  t.same(filesUnder(media), ['a/new.png', 'a/new.png@thumb.webp', 'd/cv.pdf', 'p/three.gif'], 'old avatar, its thumb and old photos gone; the document kept')
})

t.test('on an upload route with req.uploads: a field the form did not send keeps its file; a failing commit is a 500 that leaves the old files', async (t) => {
  const { app, Profile, old, media } = await diskProfile(t)
  let row: RecordOf<typeof Profile> = old
  let fail = false
  app.post('/profile', { upload: Profile }, async (req) => await Profile.replace(row, req.uploads, {
    commit: async (changes) => {
      if (fail) throw new Error('database down')
      row = { ...row, ...changes }
      return row
    }
  }))
  fail = true
  const refused = await postForm(app, '/profile', [{ name: 'avatar', filename: 'new.png', content: png }])
  t.equal(refused.statusCode, 500)
  t.same(filesUnder(media), OLD_FILES, 'the old files, nothing new')
  t.same(row, old)

  fail = false
  const res = await postForm(app, '/profile', [{ name: 'avatar', filename: 'new.png', content: png }])
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json(), { avatar: 'a/new.png', document: 'd/cv.pdf', photos: ['p/one.png', 'p/two.png'] })
  t.same(filesUnder(media), ['a/new.png', 'a/new.png@thumb.webp', 'd/cv.pdf', 'p/one.png', 'p/two.png'])
})

t.test('a handler that fails after replace committed (a throw, or a reply >= 400): the new files the row now names stay, served; the old are gone', async (t) => {
  const { app, Profile, old, media } = await diskProfile(t)
  let row: RecordOf<typeof Profile> = old
  app.post('/profile', { upload: Profile }, async (req, reply) => {
    const then = (req.query as { then: string }).then
    // the 409 case replaces the document alone: the request's other files are not the record's
    const uploads = then === 'throw' ? req.uploads : { document: req.uploads.document }
    await Profile.replace(row, uploads, { commit: (changes) => { row = { ...row, ...changes } } })
    if (then === 'throw') throw new Error('after the commit')
    return await reply.code(409).send({ message: 'answered >= 400 after the commit' })
  })
  const thrown = await postForm(app, '/profile?then=throw', [{ name: 'avatar', filename: 'new.png', content: png }])
  t.equal(thrown.statusCode, 500)
  t.equal(row.avatar, 'a/new.png', 'the row names the new file')
  t.same(filesUnder(media), ['a/new.png', 'a/new.png@thumb.webp', 'd/cv.pdf', 'p/one.png', 'p/two.png'], 'the new avatar and its thumb stay, the old went')
  t.equal((await app.inject({ url: '/media/a/new.png' })).statusCode, 200, 'and it is served (no longer held as a pending name)')

  const refused = await postForm(app, '/profile?then=409', [{ name: 'document', filename: 'new.pdf', content: pdf }, { name: 'photos', filename: 'three.gif', content: gif }])
  t.equal(refused.statusCode, 409)
  t.equal(row.document, 'd/new.pdf')
  t.same(filesUnder(media), ['a/new.png', 'a/new.png@thumb.webp', 'd/new.pdf', 'p/one.png', 'p/two.png'], 'the new document stays; the photo the record does not name went with the request')
})

t.test('an upload that is the old record\'s own file is never deleted, whether commit fails or not', async (t) => {
  const { Profile, old, media } = await diskProfile(t)
  const same = Profile.load(old).document!
  const failure = new Error('database down')
  await t.rejects(Profile.replace(old, { document: same as never }, { commit: () => { throw failure } }), failure)
  t.same(filesUnder(media), OLD_FILES)
  await Profile.replace(old, { document: same as never }, { commit: () => {} })
  t.same(filesUnder(media), OLD_FILES)
})

t.test('bad arguments: FST_MEDIA_INVALID_OPTION before anything is stored, committed or deleted', async (t) => {
  const { Profile, old, media } = await diskProfile(t)
  const avatar = await Profile.fields.avatar.save('new.png', png)
  let commits = 0
  const commit = () => { commits++ }
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['a key that is no field', async () => await Profile.replace(old, { avatar, nickname: avatar } as never, { commit }), /^profile\.replace uploads\.nickname: is not a field of profile \(have: avatar, document, photos\)$/],
    ['an array for a single field', async () => await Profile.replace(old, { avatar: [avatar] } as never, { commit }), /uploads\.avatar: must be one file/],
    ['one file for a multiple field', async () => await Profile.replace(old, { photos: avatar } as never, { commit }), /uploads\.photos: must be an array of files/],
    ['a name, not a file', async () => await Profile.replace(old, { document: 'd/x.pdf' } as never, { commit }), /uploads\.document: must be files stored for this field/],
    ['a file of another storage', async () => await Profile.replace(old, { avatar: new FieldFile({ name: 'a/old.png', storage: new Disk(new MapDriver()), url: '' }) } as never, { commit }), /uploads\.avatar: must be files stored/],
    ['no commit', async () => await Profile.replace(old, { avatar }, {} as never), /^profile\.replace commit: must be a function/],
    ['no uploads', async () => await Profile.replace(old, null as never, { commit }), /^profile\.replace uploads: must be an object/],
    ['no old record', async () => await Profile.replace(null as never, { avatar }, { commit }), /^profile\.replace: the old record must be an object/]
  ]
  for (const [label, call, message] of cases) {
    await t.rejects(call(), { code: 'FST_MEDIA_INVALID_OPTION', message }, label)
  }
  t.equal(commits, 0, 'commit never ran')
  t.same(filesUnder(media), [...OLD_FILES, 'a/new.png', 'a/new.png@thumb.webp'].sort(), 'nothing deleted')
})

t.test('an old file that cannot be deleted after the commit is left behind: replace still resolves, the new files stay', async (t) => {
  class FailingDelete extends MapDriver {
    override async delete (key: string): Promise<void> {
      if (key.startsWith('a/old')) throw new Error('backend down')
      await super.delete(key)
    }
  }
  const driver = new FailingDelete()
  const { app } = await makeApp(t, { storages: { files: new Disk(driver, { baseUrl: '/files/' }) } })
  const Profile = app.media.model('profile', fields('files'))
  const old = Profile.toRecord({ avatar: await Profile.fields.avatar.save('old.png', png), document: await Profile.fields.document.save('cv.pdf', pdf), photos: [] })
  const avatar = await Profile.fields.avatar.save('new.png', png)
  t.equal(await Profile.replace(old, { avatar }, { commit: () => 'written' }), 'written')
  t.same([...driver.files.keys()].sort(), ['a/new.png', 'a/new.png@thumb.webp', 'a/old.png', 'a/old.png@thumb.webp', 'd/cv.pdf'])
})

t.test('S3 (s3rver, staged): commit sees the new files published under their names; a failing commit leaves only the old objects, a good one only the new', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const { app } = await makeApp(t, { storages: { bucket: new S3Storage({ bucket, client, staged: true }) } })
  const Profile = app.media.model('profile', fields('bucket'))
  let row = Profile.toRecord({ avatar: await Profile.fields.avatar.save('old.png', png), document: await Profile.fields.document.save('cv.pdf', pdf), photos: [] })
  const before = await keysUnder(client, bucket)
  t.same(before, ['a/old.png', 'a/old.png@thumb.webp', 'd/cv.pdf'])
  let fail = true
  let during: string[] = []
  app.post('/profile', { upload: Profile }, async (req) => await Profile.replace(row, req.uploads, {
    commit: async (changes) => {
      during = await keysUnder(client, bucket, 'a/')
      if (fail) throw new Error('database down')
      row = { ...row, ...changes }
      return row
    }
  }))
  const refused = await postForm(app, '/profile', [{ name: 'avatar', filename: 'new.png', content: png }])
  t.equal(refused.statusCode, 500)
  t.same(during, ['a/new.png', 'a/new.png@thumb.webp', 'a/old.png', 'a/old.png@thumb.webp'], 'the new files were published before commit ran')
  t.same(await keysUnder(client, bucket), before, 'only the old objects: no new one, no staging leftover')

  fail = false
  const res = await postForm(app, '/profile', [{ name: 'avatar', filename: 'new.png', content: png }])
  t.equal(res.statusCode, 200, res.body)
  t.same(during, ['a/new.png', 'a/new.png@thumb.webp', 'a/old.png', 'a/old.png@thumb.webp'])
  t.same(await keysUnder(client, bucket), ['a/new.png', 'a/new.png@thumb.webp', 'd/cv.pdf'], 'the new avatar, the kept document')
})
