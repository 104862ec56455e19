import t from 'tap'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { FieldFile, FileField, FileSystemStorage, ImageField, ImageFile } from '../lib/index.js'
import { createModel } from '../lib/fields/model.js'
import { LATE_HEADER_LIMIT } from '../lib/upload/late-header.js'
import { CountingReads, filesUnder, fixture, makeApp, postForm, type Tap } from './helpers.js'

async function profileApp (t: Tap) {
  const { app, dir } = await makeApp(t)
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/', required: false }),
    document: FileField({ uploadTo: 'docs/', accept: ['application/pdf'] }),
    photos: ImageField({ uploadTo: 'photos/', multiple: true, required: false })
  })
  return { app, Profile, media: join(dir, 'media') }
}

t.test('toRecord keeps names; load gives the files back; delete removes them', async (t) => {
  const { app, Profile, media } = await profileApp(t)
  let record: Record<string, unknown> = {}
  app.post('/p', { upload: Profile }, async (req) => {
    record = Profile.toRecord(req.uploads)
    return record
  })
  const res = await postForm(app, '/p', [
    { name: 'document', filename: 'r.pdf', content: fixture('fixture.pdf') },
    { name: 'photos', filename: 'a.png', content: fixture('fixture.png') },
    { name: 'photos', filename: 'b.gif', content: fixture('fixture.gif') }
  ])
  t.equal(res.statusCode, 200)
  t.same(record, { avatar: null, document: 'docs/r.pdf', photos: ['photos/a.png', 'photos/b.gif'] })

  const loaded = Profile.load(JSON.parse(JSON.stringify(record)))
  t.equal(loaded.avatar, null)
  t.ok(loaded.document instanceof FieldFile)
  t.equal(loaded.document.name, 'docs/r.pdf')
  t.equal(loaded.document.url, '/media/docs/r.pdf')
  t.equal(loaded.document.size, undefined, 'size waits for stat()')
  t.equal(loaded.document.contentType, 'application/pdf', 'the type comes from the stored extension')
  const doc = await loaded.document.stat()
  t.equal(doc.size, fixture('fixture.pdf').length)
  t.ok(loaded.photos[0] instanceof ImageFile)
  t.equal(loaded.photos[0]!.width, undefined)
  const photo = await loaded.photos[1]!.stat()
  t.match(photo, { width: 200, height: 133, size: fixture('fixture.gif').length })
  t.match(photo.toJSON(), { name: 'photos/b.gif', url: '/media/photos/b.gif', width: 200, height: 133, contentType: 'image/gif' })

  const bytes: Buffer[] = []
  for await (const chunk of doc.open()) bytes.push(chunk as Buffer)
  t.same(Buffer.concat(bytes), fixture('fixture.pdf'), 'open() streams the stored bytes')

  await Profile.delete(record)
  t.same(filesUnder(media), [])
  await Profile.delete(record)
  t.pass('deleting twice is fine')
})

t.test('toRecord of partial uploads and load of partial records', async (t) => {
  const { Profile } = await profileApp(t)
  t.same(Profile.toRecord({} as never), { avatar: null, document: null, photos: [] }, 'robust to what the types forbid')
  t.same(Profile.load({}), { avatar: null, document: null, photos: [] })
  t.same(Profile.load({ photos: 'photos/one.png' }).photos.map((p) => p.name), ['photos/one.png'])
  t.throws(() => Profile.load({ document: '../etc/passwd' }), { code: 'FST_MEDIA_INVALID_NAME' })
})

t.test('load() of a database row: a missing, empty or non-string name is null (the type says | null), other columns are ignored', async (t) => {
  const { Profile } = await profileApp(t)
  const row: Record<string, unknown> & { id: string } = { id: 'p1', name: 'Ada', document: '', avatar: 42, photos: null }
  const files = Profile.load(row)
  t.same(files, { avatar: null, document: null, photos: [] })
  // LoadedRowOf: `files.document.stat()` does not compile (types/model.test-d.ts), this does
  t.equal(await files.document?.stat(), undefined)
  await Profile.delete(row)
  t.pass('delete() of such a row removes nothing and does not throw')
})

t.test('stat() of a loaded image reads only its header, and fails cleanly', async (t) => {
  const { Profile, media } = await profileApp(t)
  const big = Buffer.concat([fixture('fixture.png'), Buffer.alloc(20 * 1024 * 1024)])
  mkdirSync(join(media, 'avatars'), { recursive: true })
  writeFileSync(join(media, 'avatars/big.png'), big)
  const storage = new CountingReads({ location: media })
  const Counted = createModel('counted', { avatar: ImageField({ uploadTo: 'avatars/' }) }, new Map([['default', storage]]))
  const image = await Counted.load({ avatar: 'avatars/big.png' }).avatar!.stat()
  t.match(image, { width: 200, height: 133, size: big.length })
  t.ok(storage.bytesRead > 0, 'the header was read through the storage')
  // at most the header limit and one read-ahead chunk of the file stream
  t.ok(storage.bytesRead <= LATE_HEADER_LIMIT + 64 * 1024, `the 20 MB tail was never read: ${storage.bytesRead} bytes read`)
  writeFileSync(join(media, 'avatars/fake.png'), Buffer.alloc(1000, 1))
  await t.rejects(Profile.load({ avatar: 'avatars/fake.png' }).avatar!.stat(), { code: 'FST_MEDIA_INVALID_IMAGE', message: /avatars\/fake\.png: the image header cannot be read/ })
  await t.rejects(Profile.load({ avatar: 'avatars' }).avatar!.stat(), { code: 'FST_MEDIA_STORAGE', message: /not a file/ })
})

t.test('field.save runs the same checks outside HTTP', async (t) => {
  const { Profile, media } = await profileApp(t)
  const avatar = await Profile.fields.avatar.save('me.png', fixture('fixture.png'))
  t.ok(avatar instanceof ImageFile)
  t.match(avatar, { name: 'avatars/me.png', width: 200, height: 133, url: '/media/avatars/me.png' })
  const doc = await Profile.fields.document.save('r.pdf', Readable.from([fixture('fixture.pdf').subarray(0, 100), fixture('fixture.pdf').subarray(100)]))
  t.match(doc.toJSON(), { name: 'docs/r.pdf', size: fixture('fixture.pdf').length, contentType: 'application/pdf' })
  const strings = await Profile.fields.document.save('s.pdf', Readable.from(['%PDF-1.4\n', 'x'.repeat(100)], { objectMode: true }))
  t.equal(strings.size, 109, 'string chunks are bytes too')
  await t.rejects(Profile.fields.document.save('x.pdf', fixture('fixture.png')), { code: 'FST_MEDIA_INVALID_TYPE' })
  await t.rejects(Profile.fields.avatar.save('', fixture('fixture.png')), { code: 'FST_MEDIA_INVALID_NAME' })
  await t.rejects(Profile.fields.avatar.save('a.png', Buffer.alloc(0)), { code: 'FST_MEDIA_FILE_TOO_SMALL' })
  t.same(filesUnder(media), ['avatars/me.png', 'docs/r.pdf', 'docs/s.pdf'])
  await avatar.delete()
  t.notOk(existsSync(join(media, 'avatars/me.png')))
})

t.test('field.save removes what it stored when a later step fails', async (t) => {
  class FailingUrl extends FileSystemStorage {
    existedWhenItFailed: string[] = []
    override url (name: string): string {
      if (existsSync(join(this.location, name))) this.existedWhenItFailed.push(name)
      throw new Error('no url')
    }
  }
  const { media } = await profileApp(t)
  const storage = new FailingUrl({ location: media })
  const M = createModel('m', { f: FileField() }, new Map([['default', storage]]))
  await t.rejects(M.fields.f.save('a.pdf', fixture('fixture.pdf')), /no url/)
  t.same(storage.existedWhenItFailed, ['a.pdf'], 'the file had been stored when the later step failed')
  t.same(filesUnder(media), [], 'and it is removed')
})
