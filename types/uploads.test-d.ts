import Fastify, { type FastifyTypeProvider } from 'fastify'
import fastifyMedia, { FieldFile, FileField, FileSystemStorage, ImageField, ImageFile, type UploadsOf } from '../lib/index.js'
import { assertTrue, expectType, use, type Equal } from './helpers.js'

const app = Fastify()
await app.register(fastifyMedia, {
  baseDir: import.meta.dirname,
  static: { url: '/static/', dirs: ['static', { prefix: 'vendor/', dir: 'vendor' }], root: 'staticfiles' },
  media: { url: '/media/', root: 'media' },
  storages: { private: new FileSystemStorage({ location: 'private', public: false }) },
  signingKey: process.env.MEDIA_SIGNING_KEY,
  limits: { files: 10, fields: 100, fieldSize: 1_048_576, parts: 200, totalSize: '1 GB' }
})

const Profile = app.media.model('profile', {
  avatar: ImageField({ uploadTo: 'avatars/', maxSize: '2 MB', formats: ['jpeg', 'png', 'webp'], maxPixels: 40_000_000, required: false }),
  document: FileField({ uploadTo: 'docs/%Y/%m/', accept: ['application/pdf'], maxSize: '10 MB' }),
  photos: ImageField({ uploadTo: (ctx) => `albums/${ctx.model}/`, multiple: true, maxCount: 5 }),
  contract: FileField({ uploadTo: 'contracts/', storage: 'private' })
})
const Invoice = app.media.model('invoice', { scan: FileField({ required: false }) })

interface ProfileUploads {
  avatar: ImageFile | null
  document: FieldFile
  photos: ImageFile[]
  contract: FieldFile
}

assertTrue<Equal<UploadsOf<typeof Profile>, ProfileUploads>>()
assertTrue<Equal<UploadsOf<typeof Invoice>, { scan: FieldFile | null }>>()
assertTrue<Equal<UploadsOf<string>, never>>()

// the `upload` option alone types req.uploads: no generics
app.post('/profiles', { upload: Profile }, async (req, reply) => {
  assertTrue<Equal<typeof req.uploads, ProfileUploads>>()
  expectType<ImageFile | null>()(req.uploads.avatar)
  expectType<FieldFile>()(req.uploads.document)
  expectType<ImageFile[]>()(req.uploads.photos)
  expectType<FieldFile>()(req.uploads.contract)
  expectType<ImageFile | undefined>()(req.uploads.photos[0])
  expectType<unknown>()(req.body)

  const { avatar, document, photos } = req.uploads
  if (avatar !== null) {
    expectType<number>()(avatar.width)
    expectType<number>()(avatar.height)
    await avatar.delete()
  }
  expectType<string>()(document.name)
  expectType<number>()(document.size)
  expectType<string>()(document.contentType)
  expectType<string>()(document.url)
  expectType<string>()(document.toJSON().url)
  for (const photo of photos) expectType<number>()(photo.width)
  expectType<number | undefined>()(req.uploads.avatar?.width)

  // @ts-expect-error -- FieldFile has no width: only image fields do
  use(document.width)
  // @ts-expect-error -- FieldFile has no height
  use(req.uploads.contract.height)
  // @ts-expect-error -- optional field: null until checked
  await req.uploads.avatar.delete()
  // @ts-expect-error -- optional field: null until checked
  use(avatar.width)
  // @ts-expect-error -- a multiple field is an array, not one file
  use(photos.name)
  // @ts-expect-error -- a multiple field is an array, not one file
  const one: ImageFile = req.uploads.photos
  // @ts-expect-error -- a single field is one file, not an array
  const many: FieldFile[] = req.uploads.document
  // @ts-expect-error -- may be null
  const sure: ImageFile = req.uploads.avatar
  // @ts-expect-error -- the model declares no such field
  use(req.uploads.bogus)
  // @ts-expect-error -- a FieldFile is not an ImageFile
  const image: ImageFile = req.uploads.document
  use([one, many, sure, image])

  return reply.code(201).send(req.uploads)
})

// every way of declaring a route with options infers it
app.route({
  method: 'POST',
  url: '/profiles/route',
  upload: Profile,
  handler: async (req) => {
    assertTrue<Equal<typeof req.uploads, ProfileUploads>>()
    // @ts-expect-error -- FieldFile has no width
    use(req.uploads.document.width)
  }
})
app.post('/profiles/options-handler', {
  upload: Profile,
  handler: async (req) => {
    assertTrue<Equal<typeof req.uploads, ProfileUploads>>()
  }
})
app.put('/profiles/hooks', {
  upload: Profile,
  preHandler: async (req) => {
    assertTrue<Equal<typeof req.uploads, ProfileUploads>>()
  },
  onSend: async (req, reply, payload) => {
    expectType<ImageFile | null>()(req.uploads.avatar)
    return payload
  }
}, async (req) => {
  assertTrue<Equal<typeof req.uploads, ProfileUploads>>()
})
app.post('/profiles/schema', {
  upload: Profile,
  schema: { body: { type: 'object', properties: { title: { type: 'string' } } } }
}, async (req) => {
  assertTrue<Equal<typeof req.uploads, ProfileUploads>>()
})

// two models, two routes: no bleeding between them
app.post('/invoices', { upload: Invoice }, async (req) => {
  assertTrue<Equal<typeof req.uploads, { scan: FieldFile | null }>>()
  // @ts-expect-error -- Invoice has no avatar
  use(req.uploads.avatar)
})

// explicit generics: UploadsOf next to Body, and the body stays typed
app.post<{ Body: { title: string }, Uploads: UploadsOf<typeof Profile> }>('/profiles/generic', { upload: Profile }, async (req) => {
  expectType<string>()(req.body.title)
  assertTrue<Equal<typeof req.uploads, ProfileUploads>>()
  // @ts-expect-error -- not in Body
  use(req.body.subtitle)
})
app.route<{ Body: { title: string }, Uploads: UploadsOf<typeof Profile> }>({
  method: 'POST',
  url: '/profiles/generic-route',
  upload: Profile,
  handler: async (req) => {
    expectType<string>()(req.body.title)
    assertTrue<Equal<typeof req.uploads, ProfileUploads>>()
  }
})
// explicit generics without Uploads would leave req.uploads loose (TypeScript infers all type arguments or
// none): refused, with the fix in the error
app.post<{ Body: { title: string } }>('/profiles/body-only', {
  // @ts-expect-error -- explicit route generics need Uploads: UploadsOf<typeof YourModel>
  upload: Profile
}, async (req) => {
  expectType<string>()(req.body.title)
})
app.route<{ Body: { title: string } }>({
  method: 'POST',
  url: '/profiles/body-only-route',
  // @ts-expect-error -- explicit route generics need Uploads
  upload: Profile,
  handler: async () => {}
})
// explicit generics on a route without upload are untouched
app.post<{ Body: { title: string } }>('/json', async (req) => {
  expectType<string>()(req.body.title)
  expectType<Record<string, unknown>>()(req.uploads)
})
app.post<{ Uploads: UploadsOf<typeof Invoice> }>('/profiles/mismatch', {
  // @ts-expect-error -- the generic's Uploads belong to another model
  upload: Profile
}, async (req) => {})

// a type provider still types the body from the schema next to the inferred uploads
interface TitleProvider extends FastifyTypeProvider {
  validator: this['schema'] extends { $id: 'title' } ? { title: string } : unknown
  serializer: unknown
}
app.withTypeProvider<TitleProvider>().post('/profiles/provider', {
  upload: Profile,
  schema: { body: { $id: 'title' } }
}, async (req) => {
  expectType<string>()(req.body.title)
  assertTrue<Equal<typeof req.uploads, ProfileUploads>>()
})

// routes without `upload`: loose, and using a file takes a check first
app.post('/plain', async (req) => {
  expectType<Record<string, unknown>>()(req.uploads)
  // @ts-expect-error -- unknown until checked
  use(req.uploads.avatar.name)
})

// `upload` takes a model and nothing else
// @ts-expect-error -- a model name is not a model
app.post('/bad/name', { upload: 'profile' }, async () => {})
// @ts-expect-error -- an empty object is not a model
app.post('/bad/object', { upload: {} }, async () => {})
// @ts-expect-error -- a model's field is not a model
app.post('/bad/field', { upload: Profile.fields.avatar }, async () => {})
// @ts-expect-error -- a field declaration is not a model
app.post('/bad/spec', { upload: ImageField() }, async () => {})
app.route({
  method: 'POST',
  url: '/bad/route',
  // @ts-expect-error -- a fields object is not a model
  upload: { avatar: ImageField() },
  handler: async () => {}
})

// @ts-expect-error -- not a mode
await app.register(fastifyMedia, { mode: 'staging' })

// options written `as const` are accepted (readonly arrays)
const staticOptions = { url: '/static/', dirs: ['static', { prefix: 'vendor/', dir: 'vendor' }], root: 'staticfiles' } as const
await Fastify().register(fastifyMedia, { static: staticOptions })
