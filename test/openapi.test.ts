// Upload routes under @fastify/swagger: the document shows a multipart form with the model's file fields,
// the spec validates, and the same app still takes real uploads and validates their text parts.
import fastifySwagger, { type SwaggerOptions } from '@fastify/swagger'
import { Validator } from '@seriousme/openapi-schema-validator'
import { Type, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, type FastifySchema } from 'fastify'
import { join } from 'node:path'
import t from 'tap'
import { buildApp } from '../example/server.js'
import fastifyMedia, { FileField, FileSystemStorage, ImageField, S3Storage } from '../lib/index.js'
import { s3Bucket } from './s3-server.js'
import { filesUnder, fixture, postForm, tempDir, type Part, type Tap } from './helpers.js'

type Order = 'swagger first' | 'swagger last'

interface Setup {
  order?: Order
  swagger?: SwaggerOptions
  /** Called between the registrations and the routes, e.g. to set a validator compiler. */
  configure?: (app: FastifyInstance) => void
}

/** An app with @fastify/swagger and fastify-media (in the given order) on a temp media root. */
async function swaggerApp (t: Tap, { order = 'swagger first', swagger = { openapi: {} }, configure }: Setup = {}) {
  const dir = tempDir(t)
  const app = Fastify()
  t.teardown(() => app.close())
  if (order === 'swagger first') await app.register(fastifySwagger, swagger)
  await app.register(fastifyMedia, { baseDir: dir, static: false })
  if (order === 'swagger last') await app.register(fastifySwagger, swagger)
  configure?.(app)
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/', maxSize: '2 MB', formats: ['jpeg', 'png', 'webp'], required: false }),
    document: FileField({ uploadTo: 'docs/', accept: ['application/pdf', 'text/*', '.csv'], maxSize: '10 MB' }),
    photos: ImageField({ uploadTo: 'photos/', multiple: true, maxCount: 3, required: false })
  })
  const route = (url: string, schema?: FastifySchema) =>
    app.post(url, { upload: Profile, schema }, async (req, reply) => reply.code(201).send({ body: req.body, uploads: req.uploads }))
  return { app, Profile, route, stored: () => filesUnder(`${dir}/media`) }
}

const nameSchema = { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } } as const

const avatarDoc = { type: 'string', format: 'binary', description: 'Up to 2 MB. Accepted types: image/jpeg, image/png, image/webp.' }
const documentDoc = { type: 'string', format: 'binary', description: 'Up to 10 MB. Accepted types: application/pdf, text/*, .csv.' }
const photosDoc = {
  type: 'array',
  items: { type: 'string', format: 'binary' },
  maxItems: 3,
  description: 'No size limit. Accepted types: image/jpeg, image/png, image/webp, image/gif, image/avif.'
}

const png = { name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }
const pdf = { name: 'document', filename: 'report.pdf', content: fixture('fixture.pdf') }
const photos: Part[] = [
  { name: 'photos', filename: 'one.jpg', content: fixture('fixture.jpg') },
  { name: 'photos', filename: 'two.webp', content: fixture('fixture.webp') }
]

async function validate (document: unknown): Promise<{ valid: boolean, errors?: unknown }> {
  return await new Validator().validate(document as Record<string, unknown>)
}

type Operation = { requestBody: { content: Record<string, { schema: Record<string, any> }> } }
const operation = (app: FastifyInstance, url: string): Operation =>
  (app.swagger() as { paths: Record<string, { post: Operation }> }).paths[url]!.post

for (const order of ['swagger first', 'swagger last'] as const) {
  t.test(`${order}: the upload route is documented as multipart/form-data with its file fields, the spec validates, and the upload answers 201`, async (t) => {
    const { app, route, stored } = await swaggerApp(t, { order })
    route('/profiles', { body: nameSchema })
    await app.ready()

    const document = app.swagger()
    t.same(await validate(document), { valid: true }, 'the OpenAPI 3 document validates')
    const { content } = operation(app, '/profiles').requestBody
    t.same(Object.keys(content), ['multipart/form-data'], 'multipart/form-data, not application/json')
    t.same(content['multipart/form-data']!.schema, {
      type: 'object',
      required: ['name', 'document'],
      properties: { name: { type: 'string', minLength: 1 }, avatar: avatarDoc, document: documentDoc, photos: photosDoc }
    }, 'text fields from schema.body, file fields and required ones from the model')

    const res = await postForm(app, '/profiles', [{ name: 'name', content: 'Ada' }, png, pdf, ...photos])
    t.equal(res.statusCode, 201, res.body)
    t.same(res.json().body, { name: 'Ada' })
    t.same(stored(), ['avatars/me.png', 'docs/report.pdf', 'photos/one.jpg', 'photos/two.webp'])
  })
}

t.test('a file declared in schema.body the usual way (format: binary, in required) does not fail body validation', async (t) => {
  const { app, route, stored } = await swaggerApp(t)
  route('/profiles', {
    body: {
      type: 'object',
      required: ['name', 'document'],
      properties: { name: { type: 'string', minLength: 1 }, document: { type: 'string', format: 'binary' } }
    }
  })

  const ok = await postForm(app, '/profiles', [{ name: 'name', content: 'Ada' }, pdf])
  t.equal(ok.statusCode, 201, ok.body)
  t.same(stored(), ['docs/report.pdf'])

  const noName = await postForm(app, '/profiles', [pdf])
  t.equal(noName.statusCode, 400)
  t.match(noName.json(), { code: 'FST_ERR_VALIDATION', message: "body must have required property 'name'" }, 'the text parts are still validated')
  const noFile = await postForm(app, '/profiles', [{ name: 'name', content: 'Ada' }])
  t.match(noFile.json(), { statusCode: 400, code: 'FST_MEDIA_FIELD_REQUIRED' }, "a missing file is the model's error")
  t.same(stored(), ['docs/report.pdf'], 'the refused requests stored nothing')

  t.same(operation(app, '/profiles').requestBody.content['multipart/form-data']!.schema, {
    type: 'object',
    required: ['name', 'document'],
    properties: { name: { type: 'string', minLength: 1 }, document: documentDoc, avatar: avatarDoc, photos: photosDoc }
  }, "the model's description replaces the declared one")
})

t.test('a TypeBox body declaring the files: validated under ajv and under TypeBoxValidatorCompiler, documented alike', async (t) => {
  const body = Type.Object({
    name: Type.String({ minLength: 1 }),
    document: Type.String({ format: 'binary' }),
    avatar: Type.Optional(Type.String({ format: 'binary' }))
  })
  for (const compiler of ['ajv', 'typebox'] as const) {
    const { app, route } = await swaggerApp(t, {
      configure: (app) => { if (compiler === 'typebox') app.setValidatorCompiler(TypeBoxValidatorCompiler) }
    })
    route('/profiles', { body })
    const ok = await postForm(app, '/profiles', [{ name: 'name', content: 'Ada' }, pdf, png])
    t.equal(ok.statusCode, 201, `${compiler}: ${ok.body}`)
    const noName = await postForm(app, '/profiles', [pdf])
    t.match(noName.json(), { statusCode: 400, code: 'FST_ERR_VALIDATION' }, `${compiler}: the text parts are still validated`)
    const schema = operation(app, '/profiles').requestBody.content['multipart/form-data']!.schema
    t.same(schema.required, ['name', 'document'], `${compiler}: required from the model`)
    t.same(schema.properties.avatar, avatarDoc)
  }
  t.same(body.required, ['name', 'document'], "the user's schema is left as it was")
  t.same(Object.keys(body.properties), ['name', 'document', 'avatar'])
})

t.test('a json-schema-to-ts style schema (as const) shared by two routes is documented for each, and left unchanged', async (t) => {
  const body = {
    type: 'object',
    required: ['name', 'document'],
    additionalProperties: false,
    properties: { name: { type: 'string' }, document: { type: 'string', format: 'binary' } }
  } as const
  const frozen = structuredClone(body)
  const { app, route } = await swaggerApp(t)
  route('/a', { body: Object.freeze({ ...body, properties: Object.freeze(body.properties) }) })
  route('/b', { body })
  const ok = await postForm(app, '/b', [{ name: 'name', content: 'Ada' }, pdf])
  t.equal(ok.statusCode, 201, ok.body)
  t.same(ok.json().body, { name: 'Ada' })
  t.same(await validate(app.swagger()), { valid: true })
  for (const url of ['/a', '/b']) {
    t.match(operation(app, url).requestBody.content['multipart/form-data']!.schema, { additionalProperties: false, required: ['name', 'document'], properties: { document: documentDoc } })
  }
  t.same(body, frozen)
})

t.test('a route without schema.body documents its files only and validates no text part', async (t) => {
  const { app, route } = await swaggerApp(t)
  route('/files')
  const res = await postForm(app, '/files', [{ name: 'anything', content: 'x' }, pdf])
  t.equal(res.statusCode, 201, res.body)
  t.same(res.json().body, { anything: 'x' })
  t.same(operation(app, '/files').requestBody.content['multipart/form-data']!.schema, {
    type: 'object',
    required: ['document'],
    properties: { avatar: avatarDoc, document: documentDoc, photos: photosDoc }
  })
})

t.test("the route's other schema parts (summary, querystring, response) stay as they are", async (t) => {
  const { app, route } = await swaggerApp(t)
  route('/q', {
    summary: 'Create a profile',
    tags: ['profiles'],
    querystring: { type: 'object', properties: { draft: { type: 'boolean' } } },
    body: nameSchema,
    response: { 201: { type: 'object', properties: { body: { type: 'object', properties: { name: { type: 'string' } } } } } }
  })
  const res = await postForm(app, '/q?draft=true', [{ name: 'name', content: 'Ada' }, pdf])
  t.equal(res.statusCode, 201, res.body)
  t.same(res.json(), { body: { name: 'Ada' } }, 'the response schema serialises the reply')
  const doc = (app.swagger() as { paths: Record<string, { post: Record<string, any> }> }).paths['/q']!.post
  t.match(doc, { summary: 'Create a profile', tags: ['profiles'], parameters: [{ in: 'query', name: 'draft' }] })
  t.ok(doc.responses[201])
})

t.test('a global swagger transform receives the documented schema', async (t) => {
  const seen = new Map<string, FastifySchema>()
  const { app, route } = await swaggerApp(t, {
    swagger: { openapi: {}, transform: ({ schema, url }) => { seen.set(url, schema); return { schema, url } } }
  })
  route('/profiles', { body: nameSchema })
  await app.ready()
  app.swagger()
  t.match(seen.get('/profiles'), { consumes: ['multipart/form-data'], body: { properties: { name: nameSchema.properties.name, document: documentDoc } } })
})

t.test('Swagger 2 mode: the file fields are formData parameters of type file, and the spec validates', async (t) => {
  const { app, route } = await swaggerApp(t, { swagger: { swagger: {} } })
  route('/profiles', { body: nameSchema })
  await app.ready()
  const document = app.swagger() as { paths: Record<string, { post: Record<string, any> }> }
  t.same(await validate(document), { valid: true }, 'the Swagger 2 document validates')
  const post = document.paths['/profiles']!.post
  t.same(post.consumes, ['multipart/form-data'])
  t.match(post.parameters, [
    { in: 'formData', name: 'name', type: 'string', required: true },
    { in: 'formData', name: 'avatar', type: 'file', required: false, description: avatarDoc.description },
    { in: 'formData', name: 'document', type: 'file', required: true },
    { in: 'formData', name: 'photos', type: 'array', maxItems: 3, required: false }
  ])
})

t.test('descriptions say when a field takes any type, has no limit or has a minimum', async (t) => {
  const dir = tempDir(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifySwagger, { openapi: {} })
  await app.register(fastifyMedia, { baseDir: dir, static: false })
  const Model = app.media.model('m', {
    any: FileField({ required: false }),
    sized: FileField({ minSize: '1 kB', maxSize: '1.5 MB', accept: ['image/*'], required: false }),
    atLeast: FileField({ minSize: 10, accept: ['.jpeg'], required: false }),
    named: ImageField({ formats: ['jpeg', 'png', 'svg', 'tiff'], accept: ['image/png', '.svg', '.jpg'], multiple: true, required: false }),
    wild: ImageField({ formats: ['png', 'svg'], accept: ['image/*'], required: false })
  })
  app.post('/m', { upload: Model, schema: { body: { properties: { note: { type: 'string' } } } } }, async () => 'ok')
  await app.ready()
  const { properties, required } = operation(app, '/m').requestBody.content['multipart/form-data']!.schema
  t.same(properties.any, { type: 'string', format: 'binary', description: 'No size limit. Accepted types: any type recognised from its bytes.' })
  t.equal(properties.sized.description, 'From 1 kB up to 1.5 MB. Accepted types: image/*.')
  t.equal(properties.atLeast.description, 'At least 10 B. Accepted types: .jpg.')
  t.same(properties.named, { type: 'array', items: { type: 'string', format: 'binary' }, description: 'No size limit. Accepted types: image/jpeg, image/png, image/svg+xml.' }, 'no maxItems without maxCount; formats narrowed by accept')
  t.equal(properties.wild.description, 'No size limit. Accepted types: image/png.', 'SVG is named, never matched by image/*')
  t.same(properties.note, { type: 'string' })
  t.equal(required, undefined, 'nothing required')
})

t.test('a body schema that cannot be merged (a $ref, a per-content-type map) is left to the user', async (t) => {
  const { app, route } = await swaggerApp(t)
  app.addSchema({ $id: 'named', type: 'object', properties: { name: { type: 'string' } } })
  route('/ref', { body: { $ref: 'named#' } })
  route('/content', { body: { content: { 'multipart/form-data': { schema: nameSchema } } } } as FastifySchema)
  route('/allof', { body: { allOf: [{ $ref: 'named#' }] } })
  await app.ready()
  t.same(await validate(app.swagger()), { valid: true })
  const res = await postForm(app, '/ref', [{ name: 'name', content: 'Ada' }, pdf])
  t.equal(res.statusCode, 201, res.body)
  t.same(Object.keys(operation(app, '/content').requestBody.content), ['multipart/form-data'])
  for (const url of ['/ref', '/allof']) {
    t.same(Object.keys(operation(app, url).requestBody.content), ['multipart/form-data'], `${url}: still documented as a form`)
  }
})

t.test('an allOf body is validated as written: a file field required there fails the upload with 400 (README says not to)', async (t) => {
  const { app, route, stored } = await swaggerApp(t)
  route('/allof', { body: { allOf: [{ type: 'object', required: ['document'], properties: { document: { type: 'string', format: 'binary' } } }] } })
  await app.ready()
  const res = await postForm(app, '/allof', [pdf])
  t.equal(res.statusCode, 400)
  t.match(res.json().message, /must have required property 'document'/)
  t.same(stored(), [], 'nothing stored')
})

t.test('app.swagger() in an onReady hook that runs before fastify-media\'s caches the upload route as application/json', async (t) => {
  const dir = tempDir(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifySwagger, { openapi: {} })
  let early: unknown
  app.addHook('onReady', async () => { early = app.swagger() })
  await app.register(fastifyMedia, { baseDir: dir, static: false })
  const M = app.media.model('m', { document: FileField() })
  app.post('/m', { upload: M, schema: { body: nameSchema } }, async () => 'ok')
  await app.ready()
  t.same(Object.keys(operation(app, '/m').requestBody.content), ['application/json'], 'the document cached before ours ran')
  t.equal(app.swagger(), early, '@fastify/swagger keeps the first document')
})

for (const mode of ['development', 'production'] as const) {
  t.test(`${mode}: the plugin's own routes (static, media, signed private files) stay out of the document`, async (t) => {
    const dir = tempDir(t)
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(fastifySwagger, { openapi: {} })
    await app.register(fastifyMedia, {
      baseDir: dir,
      mode,
      static: { dirs: [] },
      storages: { private: new FileSystemStorage({ location: 'private', baseUrl: '/private/', public: false }) },
      signingKey: 'k'.repeat(32)
    })
    app.get('/mine', async () => 'ok')
    await app.ready()
    t.same(Object.keys((app.swagger() as { paths: object }).paths), ['/mine'])
  })
}

t.test('an empty text part under a file field (what Swagger UI sends for a file left empty) counts as absent', async (t) => {
  const { app, route, stored } = await swaggerApp(t)
  route('/profiles', { body: nameSchema })
  const empty = (name: string) => ({ name, content: '' })
  const res = await postForm(app, '/profiles', [{ name: 'name', content: 'Ada' }, empty('avatar'), pdf, empty('photos')])
  t.equal(res.statusCode, 201, res.body)
  t.match(res.json(), { body: { name: 'Ada' }, uploads: { avatar: null, photos: [] } })
  t.same(stored(), ['docs/report.pdf'])
  const required = await postForm(app, '/profiles', [{ name: 'name', content: 'Ada' }, empty('document')])
  t.match(required.json(), { statusCode: 400, code: 'FST_MEDIA_FIELD_REQUIRED' }, 'a required field sent empty is missing')
  const text = await postForm(app, '/profiles', [{ name: 'name', content: 'Ada' }, pdf, { name: 'avatar', content: 'x' }])
  t.match(text.json(), { statusCode: 400, code: 'FST_MEDIA_BAD_MULTIPART' }, 'a text value that is not empty is still refused')
})

t.test('an onRoute hook sees the schema validation uses (no file fields); after ready routeOptions.schema is the documented one', async (t) => {
  const { app, route } = await swaggerApp(t)
  let seen: { schema?: FastifySchema } = {}
  let atRoute: FastifySchema | undefined
  app.addHook('onRoute', (routeOptions) => { seen = routeOptions; atRoute = routeOptions.schema })
  route('/profiles', { body: { ...nameSchema, properties: { ...nameSchema.properties, avatar: { type: 'string', format: 'binary' } } } })
  t.same(atRoute?.body, nameSchema)
  await app.ready()
  t.match(seen.schema, { consumes: ['multipart/form-data'], body: { required: ['name', 'document'], properties: { avatar: avatarDoc, document: documentDoc } } })
})

for (const mode of ['development', 'production'] as const) {
  t.test(`the demo in ${mode} mode: a valid document with the upload form, and Swagger UI under /documentation next to /static/`, async (t) => {
    const dir = tempDir(t)
    const app = await buildApp({ mediaRoot: join(dir, 'media'), dataDir: join(dir, 'data'), staticRoot: join(dir, 'staticfiles'), mode })
    t.teardown(() => app.close())
    if (mode === 'production') await app.media.collectstatic()
    const document = (await app.inject('/documentation/json')).json()
    t.same(await validate(document), { valid: true })
    t.same(Object.keys(document.paths), ['/', '/profiles', '/profiles/{id}/delete'], "the plugin's routes are hidden")
    const form = document.paths['/profiles'].post.requestBody.content['multipart/form-data'].schema
    t.same(form.required, ['name', 'avatar'])
    t.same(Object.keys(form.properties), ['name', 'avatar', 'document', 'contract', 'recording'])

    const page = await app.inject('/documentation')
    t.equal(page.statusCode, 200)
    t.match(page.headers['content-type'], 'text/html')
    for (const asset of ['/documentation/static/swagger-ui.css', '/documentation/static/swagger-ui-bundle.js', '/documentation/static/index.css']) {
      t.equal((await app.inject(asset)).statusCode, 200, asset)
    }
    t.equal((await app.inject(app.media.static('css/app.css'))).statusCode, 200, "the demo's own static files still serve")
  })
}

t.test('a direct-upload field says it takes a presign token too', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifySwagger, { openapi: {} })
  await app.register(fastifyMedia, { baseDir: tempDir(t), static: false, signingKey: 'k'.repeat(32), storages: { bucket: new S3Storage({ bucket, client }) } })
  const Model = app.media.model('m', { video: FileField({ storage: 'bucket', maxSize: '1 GB', accept: ['video/mp4'], direct: true }) })
  app.post('/m', { upload: Model }, async () => 'ok')
  await app.ready()
  const { properties } = operation(app, '/m').requestBody.content['multipart/form-data']!.schema
  t.same(properties.video, { type: 'string', format: 'binary', description: 'Up to 1 GB. Accepted types: video/mp4. Or, uploaded straight to storage, the `token` that app.media.presign() gave for it.' })
})
