import Fastify from 'fastify'
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts'
import fastifyMedia, { FieldFile, FileField, ImageField, ImageFile, type UploadsOf } from '../lib/index.js'
import { assertTrue, expectType, use, type Equal } from './helpers.js'

// Type providers type `req.body` from the route's schema, and the `upload` option types `req.uploads`: one
// handler, no generics.

interface ProfileUploads {
  avatar: ImageFile | null
  document: FieldFile
  photos: ImageFile[]
}
const fields = {
  avatar: ImageField({ uploadTo: 'avatars/', required: false }),
  document: FileField({ accept: ['application/pdf'] }),
  photos: ImageField({ multiple: true, required: true })
}

// TypeBox
const typebox = Fastify().withTypeProvider<TypeBoxTypeProvider>()
await typebox.register(fastifyMedia, { media: { url: '/media/', root: 'media' } })
const Profile = typebox.media.model('profile', fields)
assertTrue<Equal<UploadsOf<typeof Profile>, ProfileUploads>>()

typebox.post('/profiles', {
  upload: Profile,
  schema: { body: Type.Object({ name: Type.String(), age: Type.Optional(Type.Integer()) }) }
}, async (req, reply) => {
  expectType<string>()(req.body.name)
  expectType<number | undefined>()(req.body.age)
  assertTrue<Equal<typeof req.uploads, ProfileUploads>>()
  expectType<ImageFile | null>()(req.uploads.avatar)
  // @ts-expect-error -- not in the schema
  use(req.body.nickname)
  // @ts-expect-error -- a string, from the schema
  const age: string = req.body.name.length
  // @ts-expect-error -- optional field: null until checked
  use(req.uploads.avatar.width)
  // @ts-expect-error -- the model declares no such field
  use(req.uploads.bogus)
  use(age)
  return reply.code(201).send(req.uploads)
})
typebox.route({
  method: 'PUT',
  url: '/profiles/:id',
  upload: Profile,
  schema: { params: Type.Object({ id: Type.String() }), body: Type.Object({ name: Type.String() }) },
  handler: async (req) => {
    expectType<string>()(req.params.id)
    expectType<string>()(req.body.name)
    assertTrue<Equal<typeof req.uploads, ProfileUploads>>()
  }
})
typebox.post('/profiles/hooks', {
  upload: Profile,
  schema: { body: Type.Object({ name: Type.String() }) },
  preHandler: async (req) => {
    expectType<string>()(req.body.name)
    assertTrue<Equal<typeof req.uploads, ProfileUploads>>()
  }
}, async (req) => {
  expectType<string>()(req.body.name)
})
// no upload option: the body is still typed, the uploads are loose
typebox.post('/json', { schema: { body: Type.Object({ name: Type.String() }) } }, async (req) => {
  expectType<string>()(req.body.name)
  expectType<Record<string, unknown>>()(req.uploads)
})

// json-schema-to-ts: plain JSON Schema, `as const`
const jsts = Fastify().withTypeProvider<JsonSchemaToTsProvider>()
await jsts.register(fastifyMedia, { media: { url: '/media/', root: 'media' } })
const Doc = jsts.media.model('doc', { file: FileField(), cover: ImageField({ required: false }) })

jsts.post('/docs', {
  upload: Doc,
  schema: {
    body: { type: 'object', required: ['title'], properties: { title: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } }, additionalProperties: false }
  } as const
}, async (req) => {
  expectType<string>()(req.body.title)
  expectType<string[] | undefined>()(req.body.tags)
  assertTrue<Equal<typeof req.uploads, { file: FieldFile, cover: ImageFile | null }>>()
  // @ts-expect-error -- not in the schema
  use(req.body.subtitle)
})
jsts.post('/docs/inline', {
  upload: Doc,
  schema: { body: { type: 'object', required: ['title'], properties: { title: { type: 'string' } } } as const }
}, async (req) => {
  expectType<string>()(req.body.title)
  expectType<FieldFile>()(req.uploads.file)
})
