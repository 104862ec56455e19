// The minimal fastify-media example: one page with an upload form and the list of uploaded files.
// Run it with `npm start` (it imports the compiled plugin from dist/, so build first).
import Fastify from 'fastify'
import { pathToFileURL } from 'node:url'
import fastifyMedia, { FileField, formatBytes, ImageField } from '../dist/index.js'

/** The form's fields, in page order: the text field and the model's two file fields. */
const FIELDS = ['name', 'avatar', 'document']

/** Accepted by the body schema below; the browser checks it too (`required`, `maxlength`). */
const NAME_MAX = 100

/**
 * @param {{ mediaRoot?: string, logger?: boolean | object }} [options]
 *   `mediaRoot`: where uploads go (relative to this directory, or absolute); default `media`.
 * @returns {Promise<import('fastify').FastifyInstance>} a ready app
 */
export async function buildApp ({ mediaRoot = 'media', logger = false } = {}) {
  const app = Fastify({ logger })

  await app.register(fastifyMedia, {
    baseDir: import.meta.dirname,
    static: false,
    media: { url: '/media/', root: mediaRoot }
  })

  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/', maxSize: '2 MB', required: false }),
    document: FileField({ uploadTo: 'docs/%Y/%m/', accept: ['application/pdf'], maxSize: '10 MB', required: false })
  })

  const storage = app.media.storage()

  /** Every stored file with what the page shows of it, newest first. */
  async function storedFiles () {
    const names = await storage.list()
    const files = await Promise.all(names.map(async (name) => {
      try {
        const { size, modified, contentType } = await storage.stat(name)
        return { name, size, modified, contentType, url: await storage.url(name) }
      } catch {
        return null // deleted between list() and stat()
      }
    }))
    // newest first; list() is sorted by name, and the sort is stable
    return files.filter((file) => file !== null).sort((a, b) => b.modified - a.modified)
  }

  async function sendPage (reply, { status = 200, errors = {}, formError, values = {} } = {}) {
    const html = renderPage({ files: await storedFiles(), errors, formError, values })
    return reply
      .code(status)
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
      .header('x-content-type-options', 'nosniff')
      .type('text/html; charset=utf-8')
      .send(html)
  }

  app.get('/', async (request, reply) => sendPage(reply))

  app.post('/upload', {
    upload: Profile,
    schema: {
      body: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: NAME_MAX }
        }
      }
    },
    // Upload errors, body validation errors and anything else this route throws: the page again, with the
    // message next to the field it concerns, under the error's own status. The plugin has already removed
    // every file of the failed request by the time the page is sent.
    errorHandler: async (error, request, reply) => {
      const status = error.statusCode >= 400 ? error.statusCode : 500
      const values = { name: typeof request.body?.name === 'string' ? request.body.name : '' }
      if (status >= 500) {
        request.log.error({ err: error }, 'upload failed')
        return sendPage(reply, { status, values, formError: { message: 'Something went wrong on our side. Please try again.', code: error.code } })
      }
      const errors = {}
      let formError
      if (error.validation !== undefined) {
        errors.name = { message: `name: enter a name of 1 to ${NAME_MAX} characters`, code: error.code }
      } else {
        const field = /^([^:]+):/.exec(error.message)?.[1]
        if (field !== undefined && FIELDS.includes(field)) errors[field] = { message: error.message, code: error.code }
        else formError = { message: error.message, code: error.code }
      }
      return sendPage(reply, { status, errors, formError, values })
    }
  }, async (request, reply) => {
    request.log.info({ name: request.body.name, files: Profile.toRecord(request.uploads) }, 'uploaded')
    return reply.redirect('/', 303)
  })

  await app.ready()
  return app
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** For text and for quoted attribute values alike; null and undefined become ''. */
export function escapeHtml (value) {
  return String(value ?? '').replace(/[&<>"']/g, (char) => ESCAPES[char])
}

/** Bytes in the units the field options use: '2 MB' is 2 000 000 bytes. */
export const humanSize = formatBytes

// Raster images get a thumbnail; SVG never does (it is served as a download).
const isRasterImage = (contentType) => /^image\/(png|jpeg|gif|webp|avif)$/.test(contentType)

function fieldHtml ({ id, label, hint, error, input }) {
  const describedBy = [`${id}-hint`, error === undefined ? null : `${id}-error`].filter(Boolean).join(' ')
  const invalid = error === undefined ? '' : ' aria-invalid="true"'
  return `
      <div class="field${error === undefined ? '' : ' has-error'}">
        <label for="${id}">${label}</label>
        <p class="hint" id="${id}-hint">${hint}</p>
        ${error === undefined ? '' : `<p class="error" id="${id}-error" data-code="${escapeHtml(error.code)}">${escapeHtml(error.message)}</p>`}
        ${input(`id="${id}" aria-describedby="${describedBy}"${invalid}`)}
      </div>`
}

function fileItemHtml (file) {
  const url = escapeHtml(file.url)
  const thumb = isRasterImage(file.contentType)
    ? `<img src="${url}" alt="" width="48" height="48" loading="lazy">`
    : '<span class="icon" aria-hidden="true">📄</span>'
  return `
        <li>
          ${thumb}
          <span class="file">
            <a href="${url}">${escapeHtml(file.name)}</a>
            <span class="meta">${escapeHtml(humanSize(file.size))} · ${escapeHtml(file.contentType)}</span>
          </span>
        </li>`
}

function renderPage ({ files, errors, formError, values }) {
  const problems = [
    ...(formError === undefined ? [] : [{ message: formError.message, code: formError.code, href: '#upload' }]),
    ...FIELDS.filter((field) => errors[field] !== undefined).map((field) => ({ ...errors[field], href: `#${field}` }))
  ]
  const summary = problems.length === 0
    ? ''
    : `
    <div class="summary" role="alert" aria-labelledby="summary-title" tabindex="-1">
      <h2 id="summary-title">The upload failed</h2>
      <ul>${problems.map((problem) => `
        <li><a href="${problem.href}" data-code="${escapeHtml(problem.code)}">${escapeHtml(problem.message)}</a></li>`).join('')}
      </ul>
    </div>`

  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${problems.length === 0 ? '' : 'Error: '}fastify-media example</title>
  <style>
    :root { color-scheme: light dark; --accent: #0b57d0; --error: #b3261e; --muted: #555; }
    @media (prefers-color-scheme: dark) { :root { --accent: #8ab4f8; --error: #f2b8b5; --muted: #aaa; } }
    * { box-sizing: border-box; }
    body { font: 1rem/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 40rem; padding: 1rem; }
    h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; }
    form { display: grid; gap: 1rem; }
    label { display: block; font-weight: 600; }
    .hint, .meta { color: var(--muted); font-size: .9rem; margin: 0; }
    input { display: block; width: 100%; margin-top: .25rem; font: inherit; padding: .5rem; border: 1px solid; border-radius: .25rem; }
    .has-error input { border: 2px solid var(--error); }
    .error { color: var(--error); font-weight: 600; margin: .25rem 0 0; }
    button { justify-self: start; font: inherit; padding: .6rem 1.2rem; border: 0; border-radius: .25rem; background: var(--accent); color: Canvas; cursor: pointer; }
    :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
    .summary { border: 3px solid var(--error); padding: 0 1rem; margin-bottom: 1rem; }
    .summary a { color: var(--error); font-weight: 600; }
    .files { list-style: none; padding: 0; }
    .files li { display: flex; gap: .75rem; align-items: center; padding: .5rem 0; border-bottom: 1px solid color-mix(in srgb, currentColor 20%, transparent); }
    .files img, .files .icon { flex: none; width: 48px; height: 48px; object-fit: cover; border-radius: .25rem; font-size: 2rem; text-align: center; }
    .file { min-width: 0; overflow-wrap: anywhere; }
    .file a { color: var(--accent); }
  </style>
</head>
<body>
  <main>
    <h1>fastify-media example</h1>
    ${summary}
    <form id="upload" action="/upload" method="post" enctype="multipart/form-data">
      ${fieldHtml({
        id: 'name',
        label: 'Your name',
        hint: `Required, up to ${NAME_MAX} characters.`,
        error: errors.name,
        input: (attrs) => `<input type="text" name="name" ${attrs} value="${escapeHtml(values.name)}" required maxlength="${NAME_MAX}" autocomplete="name">`
      })}
      ${fieldHtml({
        id: 'avatar',
        label: 'Avatar',
        hint: 'Optional. A JPEG, PNG, WebP, GIF or AVIF image, up to 2 MB.',
        error: errors.avatar,
        input: (attrs) => `<input type="file" name="avatar" ${attrs} accept="image/jpeg,image/png,image/webp,image/gif,image/avif">`
      })}
      ${fieldHtml({
        id: 'document',
        label: 'Document',
        hint: 'Optional. A PDF, up to 10 MB.',
        error: errors.document,
        input: (attrs) => `<input type="file" name="document" ${attrs} accept="application/pdf,.pdf">`
      })}
      <button type="submit">Upload</button>
    </form>

    <h2 id="files-title">Uploaded files</h2>
    ${files.length === 0
      ? '<p>No files uploaded yet.</p>'
      : `<ul class="files" aria-labelledby="files-title">${files.map(fileItemHtml).join('')}
    </ul>`}
  </main>
</body>
</html>
`
}

// Run directly (not imported): listen on 127.0.0.1, and close cleanly on Ctrl-C or a kill.
const entry = process.argv[1]
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const { PORT = '3000' } = process.env
  const app = await buildApp({ logger: true })
  const address = await app.listen({ host: '127.0.0.1', port: Number(PORT) })
  app.log.info(`fastify-media example: open ${address}/ in a browser`)
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => app.close())
}
