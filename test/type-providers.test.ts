import t from 'tap'
import Fastify from 'fastify'
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts'
import { join } from 'node:path'
import fastifyMedia, { FileField, ImageField } from '../lib/index.js'
import { filesUnder, fixture, postForm, tempDir, type Tap } from './helpers.js'

// The routes of types/providers.test-d.ts, run: a schema-typed body next to model-typed uploads, no generics.

async function providerApp (t: Tap, provider: 'typebox' | 'json-schema-to-ts') {
  const dir = tempDir(t)
  const base = Fastify()
  t.teardown(() => base.close())
  await base.register(fastifyMedia, { baseDir: dir, static: false })
  const Profile = base.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/', required: false }),
    document: FileField({ uploadTo: 'docs/', accept: ['application/pdf'] })
  })
  if (provider === 'typebox') {
    base.withTypeProvider<TypeBoxTypeProvider>().post('/profiles', {
      upload: Profile,
      schema: { body: Type.Object({ name: Type.String({ minLength: 1 }), age: Type.Optional(Type.Integer()) }) }
    }, async (req, reply) => {
      return await reply.code(201).send({ name: req.body.name, age: req.body.age ?? null, document: req.uploads.document.name, avatar: req.uploads.avatar?.width ?? null })
    })
  } else {
    base.withTypeProvider<JsonSchemaToTsProvider>().post('/profiles', {
      upload: Profile,
      schema: {
        body: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 }, age: { type: 'integer' } } }
      } as const
    }, async (req, reply) => {
      return await reply.code(201).send({ name: req.body.name, age: req.body.age ?? null, document: req.uploads.document.name, avatar: req.uploads.avatar?.width ?? null })
    })
  }
  return { app: base, media: join(dir, 'media') }
}

for (const provider of ['typebox', 'json-schema-to-ts'] as const) {
  t.test(`${provider}: the body is validated (and coerced) from the schema and the files stored, in one handler`, async (t) => {
    const { app, media } = await providerApp(t, provider)
    const res = await postForm(app, '/profiles', [
      { name: 'name', content: 'Ada' },
      { name: 'age', content: '36' },
      { name: 'avatar', filename: 'me.png', content: fixture('fixture.png') },
      { name: 'document', filename: 'cv.pdf', content: fixture('fixture.pdf') }
    ])
    t.equal(res.statusCode, 201, res.body)
    t.same(res.json(), { name: 'Ada', age: 36, document: 'docs/cv.pdf', avatar: 200 })
    t.same(filesUnder(media), ['avatars/me.png', 'docs/cv.pdf'])
  })

  t.test(`${provider}: a body the schema refuses is a 400 and keeps no file`, async (t) => {
    const { app, media } = await providerApp(t, provider)
    const res = await postForm(app, '/profiles', [
      { name: 'age', content: 'old' },
      { name: 'document', filename: 'cv.pdf', content: fixture('fixture.pdf') }
    ])
    t.equal(res.statusCode, 400, res.body)
    t.match(res.json(), { code: 'FST_ERR_VALIDATION', message: /body/ })
    t.same(filesUnder(media), [])
  })
}
