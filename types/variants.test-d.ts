import Fastify from 'fastify'
import { FileField, ImageField, ImageFile, type FieldSpec, type ImageFileJSON, type Loaded, type UploadsOf } from '../lib/index.js'
import { assertTrue, expectType, use, type Equal } from './helpers.js'

const app = Fastify()

// the variant names come from the declaration
const avatarSpec = ImageField({ uploadTo: 'avatars/', variants: { thumb: { width: 200, height: 200, fit: 'cover', format: 'webp', quality: 80 }, card: { width: 800 } } })
expectType<FieldSpec<'image', true, false, 'thumb' | 'card'>>()(avatarSpec)
expectType<FieldSpec<'image', true, false>>()(ImageField({ uploadTo: 'plain/' }))

const Profile = app.media.model('profile', {
  avatar: avatarSpec,
  gallery: ImageField({ multiple: true, variants: { small: { width: 100, animated: true, format: 'gif' } } }),
  plain: ImageField({ required: false }),
  document: FileField()
})
type Uploads = UploadsOf<typeof Profile>
assertTrue<Equal<Uploads['avatar'], ImageFile<'thumb' | 'card'>>>()
assertTrue<Equal<Uploads['gallery'], Array<ImageFile<'small'>>>>()
assertTrue<Equal<Uploads['plain'], ImageFile | null>>()

declare const uploads: Uploads
expectType<ImageFile>()(uploads.avatar.variants.thumb)
expectType<string>()(uploads.avatar.variants.card.url)
expectType<number>()(uploads.avatar.variants.card.width)
// @ts-expect-error -- the field declares no such variant
use(uploads.avatar.variants.banner)
// @ts-expect-error -- an image field without variants has none to name
use(uploads.plain?.variants.thumb)
// @ts-expect-error -- a file field has no variants at all
use(uploads.document.variants)

// toJSON(): the variants too, only where the field declares them
expectType<ImageFileJSON>()(uploads.avatar.toJSON().variants.thumb)
// @ts-expect-error -- no variants in the JSON of an image without them
use(uploads.plain?.toJSON().variants)

// srcset(): names checked against the declaration
expectType<string>()(app.media.srcset(uploads.avatar, ['thumb', 'card']))
expectType<string>()(app.media.srcset(uploads.avatar))
// @ts-expect-error -- not a variant of this field
app.media.srcset(uploads.avatar, ['banner'])

// load(): variants come back, loaded (dimensions unknown until stat())
const loaded = Profile.load({ avatar: 'avatars/me.png', gallery: [], plain: null, document: 'd.pdf' }) // a whole record: the required avatar is there
expectType<Loaded<ImageFile>>()(loaded.avatar.variants.thumb)
expectType<number | undefined>()(loaded.avatar.variants.thumb.width)
expectType<string | Promise<string>>()(loaded.avatar.variants.card.url)
expectType<number | undefined>()(loaded.avatar.toJSON().variants.card.size)
// @ts-expect-error -- a loaded image's widths are unknown until stat()
app.media.srcset(loaded.avatar, ['card'])
const full = await loaded.avatar.stat()
expectType<ImageFile<'thumb' | 'card'>>()(full)
expectType<string>()(app.media.srcset(full, ['card']))
// @ts-expect-error -- no such variant on a loaded image either
use(loaded.avatar.variants.banner)

// a declaration that cannot be right does not compile
// @ts-expect-error -- fit is one of sharp's
ImageField({ variants: { thumb: { width: 10, fit: 'stretch' } } })
// @ts-expect-error -- variants are written as browser formats
ImageField({ variants: { thumb: { width: 10, format: 'tiff' } } })
// @ts-expect-error -- verify is 'header' or 'decode'
ImageField({ verify: 'full' })
// @ts-expect-error -- FileField has no variants
FileField({ variants: { thumb: { width: 10 } } })
