// The fastify-media demo: profiles with an avatar, a document, a private contract and a recording, on one page.
// buildApp() makes the app (the plugin, the model, the routes); main.js is the server module that builds it
// and listens, the usual shape, which `npm start` and the CLI run. The tests call buildApp() on temp
// directories. It imports the compiled plugin from dist/.
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import Fastify from 'fastify'
import { randomBytes } from 'node:crypto'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyMedia, { FileField, FileSystemStorage, ImageField, S3Storage } from '../dist/index.js'
import { APP_FILES, CONTRACT_LINK_SECONDS, DIRECT_PREFIX, FILE_FIELDS, MULTIPART_ABOVE, NAME_MAX, RESUMABLE_PREFIX, TOTAL_SIZE } from './form.js'
import { describeError } from './messages.js'
import { ProfileStore } from './profile-store.js'
import { renderPage } from './views.js'

export { avatarSrc, escapeHtml, humanSize } from './views.js'

// script-src 'self' holds static/js only; uploaded files come from /media/ with their own, stricter CSP.
// connect-src adds the bucket when videos go to it straight from the page.
const pageCsp = (bucketOrigin) => "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  `connect-src 'self'${bucketOrigin === undefined ? '' : ` ${bucketOrigin}`}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`

/**
 * tus-js-client's browser build (dist/tus.min.js, a script that sets `window.tus`), served from node_modules
 * as a static dir of its own under `vendor/tus/`: found per request in development, hashed and compressed by
 * collectstatic for production, and no copy in the repository to keep in step with package-lock.json.
 */
const TUS_DIST = dirname(fileURLToPath(import.meta.resolve('tus-js-client/dist/tus.min.js')))

/** Where the page sends videos: the endpoint's origin (a local S3, MinIO), else any AWS S3 host. */
const bucketOrigin = (s3) => s3.endpoint === undefined ? 'https://*.amazonaws.com' : new URL(s3.endpoint).origin

/**
 * @param {import('./server.js').BuildAppOptions} [options]
 * @returns {Promise<import('fastify').FastifyInstance>} a ready app
 */
export async function buildApp ({
  mediaRoot = 'media',
  dataDir = 'data',
  staticRoot = 'staticfiles',
  mode,
  signingKey = process.env.MEDIA_SIGNING_KEY,
  s3,
  logger = false
} = {}) {
  const baseDir = import.meta.dirname
  const data = resolve(baseDir, dataDir)
  // first: a damaged file stops here, before there is an app to close
  const store = await new ProfileStore(join(data, 'profiles.json')).open()
  const app = Fastify({ logger })
  const csp = pageCsp(s3 === undefined ? undefined : bucketOrigin(s3))
  // the OpenAPI document of the routes declared below, browsable at /documentation
  await app.register(fastifySwagger, { openapi: { info: { title: 'fastify-media demo', version: '1.0.0' } } })
  await app.register(fastifySwaggerUi, { routePrefix: '/documentation' })

  await app.register(fastifyMedia, {
    baseDir,
    mode,
    static: { url: '/static/', dirs: ['static', { prefix: 'vendor/tus', dir: TUS_DIST }], root: staticRoot },
    media: { url: '/media/', root: mediaRoot },
    storages: {
      private: new FileSystemStorage({ location: join(data, 'private'), baseUrl: '/private/', public: false, expiresIn: CONTRACT_LINK_SECONDS }),
      // the SDK reads the region and the credentials from the environment (AWS_REGION, AWS_ACCESS_KEY_ID, ...)
      ...(s3 === undefined ? {} : { bucket: new S3Storage({ bucket: s3.bucket, clientConfig: s3.endpoint === undefined ? {} : { endpoint: s3.endpoint, forcePathStyle: true } }) })
    },
    // without a configured key, links signed by an earlier run stop working at a restart; they expire
    // within minutes anyway
    signingKey: signingKey ?? randomBytes(32),
    limits: { files: APP_FILES, fields: 10, totalSize: TOTAL_SIZE }
  })

  const { avatar, document, contract, recording, video } = FILE_FIELDS
  const Profile = app.media.model('profile', {
    // the list shows a 96 px square (192 px for sharp screens), made once at upload
    avatar: ImageField({ uploadTo: 'avatars/', maxSize: avatar.maxSize, required: true, variants: { thumb: { width: 192, height: 192, fit: 'cover', format: 'webp' } } }),
    document: FileField({ uploadTo: 'docs/%Y/%m/', accept: document.types, maxSize: document.maxSize, required: false }),
    contract: FileField({ uploadTo: 'contracts/', storage: 'private', accept: contract.types, maxSize: contract.maxSize, required: false }),
    // through the tus endpoint below, in the media root's .resumable/ until the form commits it
    recording: FileField({ uploadTo: 'recordings/%Y/%m/', accept: recording.types, maxSize: recording.maxSize, required: false }),
    // straight from the browser to the bucket; the form's token commits it (quarantine, checks, copy)
    ...(s3 === undefined ? {} : { video: FileField({ uploadTo: 'videos/%Y/%m/', storage: 'bucket', accept: video.types, maxSize: video.maxSize, required: false, direct: { multipartAbove: MULTIPART_ABOVE } }) })
  })
  /** What the page's script needs to send a video, or undefined when the demo runs without a bucket. */
  const direct = s3 === undefined ? undefined : { prefix: DIRECT_PREFIX, field: 'profile.video' }
  /** Where the page's script sends a recording, and the field it names in the upload's metadata. */
  const resumable = { endpoint: RESUMABLE_PREFIX, field: 'profile.recording' }

  /** A record's files, loaded and measured; a file gone from its storage shows as missing. */
  async function profileView (record) {
    const files = Profile.load(record)
    const measure = async (file) => {
      if (file === null) return null
      try {
        await file.stat()
      } catch {
        return { missing: true }
      }
      const thumb = file.variants?.thumb
      return { url: await file.url, thumb: thumb === undefined ? undefined : await thumb.url, size: file.size, width: file.width, height: file.height, filename: file.name.split('/').at(-1) }
    }
    const [avatarFile, documentFile, contractFile, recordingFile, videoFile] = await Promise.all([measure(files.avatar), measure(files.document), measure(files.contract), measure(files.recording), measure(files.video ?? null)])
    return {
      id: record.id,
      name: record.name,
      avatar: avatarFile,
      document: documentFile,
      recording: recordingFile,
      video: videoFile,
      // the signature made for this page view expires CONTRACT_LINK_SECONDS from now
      contract: contractFile === null || contractFile.missing ? contractFile : { ...contractFile, expires: expiryOf(contractFile.url) }
    }
  }

  async function sendPage (reply, { status = 200, ...state } = {}) {
    const profiles = await Promise.all(store.all().map(profileView))
    const html = renderPage({ staticUrl: app.media.static, mode: app.media.config.mode, profiles, direct, resumable, ...state })
    return reply.code(status).header('content-security-policy', csp).type('text/html; charset=utf-8').send(html)
  }

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff')
  })

  app.get('/', async (request, reply) => {
    const { saved, deleted } = request.query
    const notice = saved !== undefined ? 'Profile saved.' : deleted !== undefined ? 'Profile deleted, with its files.' : undefined
    return sendPage(reply, { notice })
  })

  app.post('/profiles', {
    upload: Profile,
    schema: {
      body: {
        type: 'object',
        required: ['name'],
        properties: { name: { type: 'string', minLength: 1, maxLength: NAME_MAX, pattern: '\\S' } }
      }
    },
    // Upload errors, a refused name, anything the handler throws: for the page's script a JSON answer it
    // shows next to the field, without script the page again. Either way the plugin has removed every file
    // of the failed request before the answer leaves.
    errorHandler: async (error, request, reply) => {
      const { field, message, code, status } = describeError(error)
      if (status >= 500) request.log.error({ err: error }, 'upload failed')
      if (wantsJson(request)) return reply.code(status).send({ statusCode: status, code, field, message })
      const values = { name: typeof request.body?.name === 'string' ? request.body.name : '' }
      const problem = { message, code }
      return sendPage(reply, field === undefined ? { status, values, formError: problem } : { status, values, errors: { [field]: problem } })
    }
  }, async (request, reply) => {
    const record = await store.add({ name: request.body.name.trim(), ...Profile.toRecord(request.uploads) })
    request.log.info({ profile: record }, 'profile saved')
    const location = `/?saved=${record.id}#profile-${record.id}`
    if (wantsJson(request)) return reply.code(201).header('location', location).send({ id: record.id, location })
    return reply.redirect(location, 303)
  })

  if (s3 !== undefined) {
    // the JSON routes the page's script calls to send a video to the bucket; refusals in the page's words
    await app.register(async (scope) => {
      scope.setErrorHandler(async (error, request, reply) => {
        const { field, message, code, status } = describeError(error)
        if (status >= 500) request.log.error({ err: error }, 'direct upload failed')
        return reply.code(status).send({ statusCode: status, code, field, message })
      })
      await scope.register(app.media.directRoutes, { prefix: DIRECT_PREFIX, fields: [Profile.fields.video] })
    })
  }

  // The tus endpoint the page's script sends recordings to (README: "Resumable uploads"). Its refusals come in
  // the plugin's JSON body; the page shows them next to the field, so they get the demo's words here, as the
  // form's errors do.
  await app.register(async (scope) => {
    scope.addHook('onSend', async (request, reply, payload) => {
      if (reply.statusCode < 400 || !/^application\/json\b/.test(String(reply.getHeader('content-type')))) return payload
      const refused = JSON.parse(payload)
      const { field, message, code } = describeError(refused)
      return JSON.stringify({ ...refused, field, message, code })
    })
    await scope.register(app.media.resumable(RESUMABLE_PREFIX, { fields: [Profile.fields.recording] }))
  })

  // An HTML form with no fields posts an empty urlencoded body; only this route takes one.
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (request, body, done) => done(null, {}))
    scope.post('/profiles/:id/delete', async (request, reply) => {
      // the record goes first: a failing file deletion then leaves a stray file, never a profile without files
      const record = await store.remove(request.params.id)
      if (record === undefined) return reply.code(404).type('text/plain; charset=utf-8').send('No such profile.')
      await Profile.delete(record)
      return reply.redirect('/?deleted=1#profiles', 303)
    })
  })

  await app.ready()
  return app
}

const wantsJson = (request) => /\bapplication\/json\b/.test(request.headers.accept ?? '')

const expiryOf = (url) => new Date(Number(new URL(url, 'http://x').searchParams.get('expires')) * 1000)
