import Fastify from 'fastify'
import { Readable } from 'node:stream'
import { FieldFile, FileField, ImageField, ImageFile, type BoundField, type FieldSpec, type Loaded, type LoadedOf, type LoadedRowOf, type Model, type RecordOf, type UploadsOf } from '../lib/index.js'
import { assertTrue, expectType, use, type Equal } from './helpers.js'

const app = Fastify()

const Profile = app.media.model('profile', {
  avatar: ImageField({ uploadTo: 'avatars/', required: false }),
  document: FileField({ uploadTo: 'docs/%Y/%m/', accept: ['application/pdf'] }),
  photos: ImageField({ uploadTo: 'albums/', multiple: true, maxCount: 5 })
})
type ProfileModel = Model<{
  avatar: FieldSpec<'image', false, false>
  document: FieldSpec<'file', true, false>
  photos: FieldSpec<'image', true, true>
}>
type ProfileRecord = { avatar: string | null, document: string, photos: string[] }

// model(): fields keyed precisely, each with its flags
assertTrue<Equal<typeof Profile, ProfileModel>>()
expectType<string>()(Profile.name)
expectType<BoundField<FieldSpec<'image', false, false>>>()(Profile.fields.avatar)
expectType<'image'>()(Profile.fields.photos.kind)
expectType<true>()(Profile.fields.photos.multiple)
expectType<false>()(Profile.fields.avatar.required)
// @ts-expect-error -- the model declares no such field
use(Profile.fields.bogus)
// @ts-expect-error -- a model's fields are FileField/ImageField declarations
app.media.model('bad', { avatar: 'avatars/' })
// @ts-expect-error -- options are not a declaration: wrap them in FileField()
app.media.model('bad', { avatar: { uploadTo: 'avatars/' } })
const looseModel: Model = Profile // any model fits the default
use(looseModel)

// field.save(): the same file classes as an upload, one file per call
expectType<Promise<ImageFile>>()(Profile.fields.avatar.save('a.png', Buffer.alloc(0)))
expectType<Promise<FieldFile>>()(Profile.fields.document.save('a.pdf', Readable.from([])))
expectType<Promise<ImageFile>>()(Profile.fields.photos.save('a.png', Buffer.alloc(0)))
// @ts-expect-error -- a file saved from a FileField has no width
use((await Profile.fields.document.save('a.pdf', Buffer.alloc(0))).width)
// @ts-expect-error -- content is a Buffer or a Readable, not a string
await Profile.fields.document.save('a.pdf', 'hello')

declare const uploads: UploadsOf<typeof Profile>

// toRecord(): names typed per field
const record = Profile.toRecord(uploads)
assertTrue<Equal<typeof record, ProfileRecord>>()
assertTrue<Equal<RecordOf<{ a: FieldSpec<'file', false, false> }>, { a: string | null }>>()
record.avatar = null
record.avatar = uploads.avatar?.name ?? null
record.photos = uploads.photos.map((photo) => photo.name)
// @ts-expect-error -- an optional field's name may be null
const avatarName: string = record.avatar
// @ts-expect-error -- a record keeps names, not files
record.avatar = uploads.avatar
// @ts-expect-error -- a record keeps names, not files
record.document = uploads.document
// @ts-expect-error -- a multiple field keeps a list of names
record.photos = 'albums/a.png'
// @ts-expect-error -- a required field's name is never null
record.document = null
// @ts-expect-error -- uploads of another model share no field
Profile.toRecord({ scan: uploads.document })
use(avatarName)

// load(): the same files, sizes and dimensions unknown until stat()
const loaded = Profile.load(record)
expectType<Loaded<ImageFile> | null>()(loaded.avatar)
expectType<Loaded<FieldFile>>()(loaded.document)
expectType<Array<Loaded<ImageFile>>>()(loaded.photos)
expectType<string>()(loaded.document.name)
expectType<string | Promise<string>>()(loaded.document.url)
expectType<number | undefined>()(loaded.document.size)
expectType<number | undefined>()(loaded.avatar?.width)
for (const photo of loaded.photos) {
  expectType<number | undefined>()(photo.height)
  const full = await photo.stat()
  expectType<ImageFile>()(full)
  expectType<number>()(full.width)
}
const document = await loaded.document.stat()
expectType<FieldFile>()(document)
expectType<number>()(document.size)
expectType<Readable>()(loaded.document.open())
expectType<Promise<void>>()(loaded.document.delete())
expectType<Loaded<ImageFile> | null>()(Profile.load({ avatar: 'avatars/a.png' }).avatar)
// @ts-expect-error -- the size is unknown until stat()
const size: number = loaded.document.size
// @ts-expect-error -- loaded FieldFiles have no width either
use(loaded.document.width)
// @ts-expect-error -- optional field: null until checked
use(loaded.avatar.name)
// @ts-expect-error -- a record holds names, not files
Profile.load({ document: uploads.document })
// @ts-expect-error -- a name is a string
Profile.load({ avatar: 42 })
use(size)

// load() of any other row: what run time does with a missing name (null) is in the type
const empty = Profile.load({})
expectType<Loaded<FieldFile> | null>()(empty.document)
expectType<Loaded<ImageFile> | null>()(empty.avatar)
expectType<Array<Loaded<ImageFile>>>()(empty.photos)
// @ts-expect-error -- a row without the required name loads it as null: check before stat()
await empty.document.stat()
await empty.document?.stat()
// rows from a database: other columns, loose types, interfaces
declare const dbRow: Record<string, unknown> & { id: string, document: string }
expectType<Loaded<FieldFile> | null>()(Profile.load(dbRow).document)
interface ProfileRow { id: number, name: string, document: string, avatar: string | null, photos: string[] }
declare const typedRow: ProfileRow
expectType<Loaded<FieldFile>>()(Profile.load(typedRow).document) // a whole record: RecordOf's shape
expectType<Loaded<FieldFile> | null>()(Profile.load({ id: 1, document: 'a.pdf' }).document)
declare const anyRow: Record<string, unknown>
use(Profile.load(anyRow))
await Profile.delete(dbRow)
await Profile.delete(typedRow)
await Profile.delete({ id: 1, document: 'a.pdf', photos: ['a.png'] })
// @ts-expect-error -- a record holds names, not files
await Profile.delete({ document: uploads.document })

// RecordOf takes the model, like UploadsOf (its fields still work)
assertTrue<Equal<RecordOf<typeof Profile>, ProfileRecord>>()
type ProfileFields = typeof Profile extends Model<infer F> ? F : never
assertTrue<Equal<RecordOf<ProfileFields>, ProfileRecord>>()
assertTrue<Equal<LoadedOf<typeof Profile>, typeof loaded>>()
assertTrue<Equal<LoadedRowOf<typeof Profile>, typeof empty>>()
const stored: ProfileRecord & { id: string } = { id: 'p1', ...Profile.toRecord(uploads) }
expectType<Loaded<FieldFile>>()(Profile.load(stored).document)

// delete(): removes a record's files
expectType<Promise<void>>()(Profile.delete(record))

// a loaded file's JSON does not claim a size it has not read
expectType<number | undefined>()(loaded.document.toJSON().size)
expectType<number | undefined>()(Profile.load(record).photos[0]!.toJSON().width)
// @ts-expect-error -- toRecord takes a request's whole uploads, so its required names are really there
Profile.toRecord({ avatar: null })
// a loaded file's URL may come from an asynchronous signer
expectType<string | Promise<string>>()(loaded.document.url)
