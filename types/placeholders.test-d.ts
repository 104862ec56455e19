import Fastify from 'fastify'
import { ImageField, ImageFile, type FieldSpec, type ImageFieldOptions, type Loaded, type RecordOf, type UploadsOf, type WithPlaceholder } from '../lib/index.js'
import { assertTrue, expectType, use, type Equal } from './helpers.js'

const app = Fastify()

// the placeholder kind comes from the declaration, like variant names
expectType<FieldSpec<'image', true, false, never, never, 'thumbhash'>>()(ImageField({ placeholder: 'thumbhash' }))
expectType<FieldSpec<'image', true, false>>()(ImageField({}))

const Profile = app.media.model('profile', {
  avatar: ImageField({ placeholder: 'thumbhash', variants: { thumb: { width: 200 } } }),
  photos: ImageField({ multiple: true, placeholder: 'blurhash' }),
  banner: ImageField({ required: false, placeholder: 'blurhash' }),
  plain: ImageField()
})
type Uploads = UploadsOf<typeof Profile>
assertTrue<Equal<Uploads['avatar'], WithPlaceholder<ImageFile<'thumb'>, string>>>()
assertTrue<Equal<Uploads['plain'], ImageFile>>()

declare const uploads: Uploads
expectType<string>()(uploads.avatar.placeholder)
expectType<string>()(uploads.avatar.toJSON().placeholder)
expectType<number>()(uploads.avatar.toJSON().variants.thumb.width)
expectType<string>()(uploads.avatar.variants.thumb.url)
expectType<string>()((uploads.photos[0] as Uploads['photos'][number]).placeholder)
expectType<string | undefined>()(uploads.banner?.placeholder)
// @ts-expect-error -- a field without placeholder has none
use(uploads.plain.placeholder)
// @ts-expect-error -- nor in its JSON
use(uploads.plain.toJSON().placeholder)
// @ts-expect-error -- a variant has no placeholder of its own
use(uploads.avatar.variants.thumb.placeholder)

// the record keeps them beside the names, in the same shape
assertTrue<Equal<RecordOf<typeof Profile>, {
  avatar: string
  avatarPlaceholder: string
  photos: string[]
  photosPlaceholder: string[]
  banner: string | null
  bannerPlaceholder: string | null
  plain: string
}>>()

// loaded: a record kept before the field had placeholders has none
const loaded = Profile.load({ avatar: 'a.png', photos: [], banner: null, plain: 'p.png' }) // the required avatar is there
expectType<string | undefined>()(Profile.load({ avatar: 'a.png', avatarPlaceholder: 'x', photos: [], photosPlaceholder: [], banner: null, bannerPlaceholder: null, plain: 'p.png' }).avatar.placeholder)
expectType<string | undefined>()(loaded.avatar.placeholder)
expectType<string | undefined>()(loaded.avatar.toJSON().placeholder)
expectType<number | undefined>()(loaded.avatar.toJSON().width)
expectType<Loaded<ImageFile>>()(loaded.avatar.variants.thumb)
// @ts-expect-error -- nor loaded
use(loaded.plain.placeholder)

// options typed only as ImageFieldOptions may or may not declare one
declare const options: ImageFieldOptions
const Loose = app.media.model('loose', { image: ImageField(options) })
use(Loose)
declare const loose: UploadsOf<typeof Loose>
const image = loose.image
expectType<string | undefined>()(Array.isArray(image) ? image[0]?.placeholder : image?.placeholder)

// @ts-expect-error -- only the two kinds
ImageField({ placeholder: 'lqip' })
