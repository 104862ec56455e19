// The demo's one page: the profile form above the list of saved profiles. Plain HTML, escaped by hand;
// the form works without JavaScript, and static/js/upload.js adds drag and drop, checks and progress.
import { formatBytes, parseBytes } from '../dist/index.js'
import { FILE_FIELDS, NAME_MAX, TOTAL_SIZE } from './form.js'

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** For text and for quoted attribute values alike; null and undefined become ''. */
export function escapeHtml (value) {
  return String(value ?? '').replace(/[&<>"']/g, (char) => ESCAPES[char])
}

/** Bytes in the units the field options use: '2 MB' is 2 000 000 bytes. */
export const humanSize = formatBytes

/** What the list shows for an avatar: its thumbnail variant, made at upload. */
export function avatarSrc (file) {
  return file.thumb
}

function fileFieldHtml (id, spec, error, { direct, resumable, staticUrl }) {
  if (spec.direct === true) return directFieldHtml(id, spec, error, direct, staticUrl)
  const describedBy = `${id}-hint ${id}-error`
  const hint = `${spec.required ? 'Required' : 'Optional'}. ${spec.what[0].toUpperCase()}${spec.what.slice(1)}, up to ${spec.maxSize}` +
    (spec.resumable ? ', sent ahead of the form: a cut connection resumes where it stopped.' : '.') +
    (spec.private ? ' Kept private: shown through a signed link that expires.' : '')
  const tus = spec.resumable ? resumableHtml(id, resumable, staticUrl) : { attributes: '', noscript: '', progress: '' }
  return `
        <div class="field${error === undefined ? '' : ' has-error'}" data-field="${id}">
          <label for="${id}">${spec.label}</label>
          <p class="hint" id="${id}-hint">${escapeHtml(hint)}</p>${tus.noscript}
          <div class="dropzone" data-dropzone>
            <input type="file" name="${id}" id="${id}" aria-describedby="${describedBy}"${error === undefined ? '' : ' aria-invalid="true"'}${spec.required ? ' required' : ''}
              accept="${[...spec.types, ...spec.extensions].join(',')}"
              data-max-size="${parseBytes(spec.maxSize)}" data-max-size-text="${spec.maxSize}"
              data-types="${spec.types.join(',')}" data-extensions="${spec.extensions.join(',')}" data-what="${escapeHtml(spec.what)}"${tus.attributes}>
            <p class="drop-text" aria-hidden="true">or drop a file here</p>
          </div>${tus.progress}
          ${errorHtml(id, error)}
        </div>`
}

/**
 * What a field sent through the tus endpoint adds: the page's script sends the file there first and puts the
 * upload's URL in the form in its place; without script the file goes in the form, as any other.
 */
function resumableHtml (id, resumable, staticUrl) {
  return {
    attributes: `
              data-tus-endpoint="${escapeHtml(resumable.endpoint)}" data-tus-field="${escapeHtml(resumable.field)}"
              data-tus-script="${escapeHtml(staticUrl('vendor/tus/tus.min.js'))}" data-tus-module="${escapeHtml(staticUrl('js/resumable-upload.js'))}"`,
    noscript: `
          <noscript><p class="hint">Without JavaScript it goes with the form, which takes ${TOTAL_SIZE} in all, and a cut connection starts it over.</p></noscript>`,
    // the line says why the upload waits: the browser is offline
    progress: `${progressHtml(id, 'Sending')}
          <p class="hint" id="${id}-status" role="status" hidden></p>`
  }
}

/** A field's own progress bar, for a file the page's script sends before the form. */
function progressHtml (id, label) {
  return `
          <div class="progress" id="${id}-progress" hidden>
            <label for="${id}-upload-progress">${label}</label>
            <progress id="${id}-upload-progress" max="100" value="0"></progress>
            <span id="${id}-progress-text" aria-live="polite">0%</span>
          </div>`
}

/**
 * A field whose file the page's script sends straight to the bucket. The input has no name: the form posts
 * the token the script gets back in its place, and without script (or without a bucket) no file at all.
 */
function directFieldHtml (id, spec, error, direct, staticUrl) {
  if (direct === undefined) {
    return `
        <div class="field" data-field="${id}">
          <p class="label">${spec.label}</p>
          <p class="hint" id="${id}-hint">Videos go from the browser straight to an S3 bucket: start the demo with
            <code>MEDIA_S3_BUCKET</code> to try it (README, "Direct uploads").</p>
        </div>`
  }
  const hint = `Optional. ${spec.what[0].toUpperCase()}${spec.what.slice(1)}, up to ${spec.maxSize}, sent straight to the bucket.`
  return `
        <div class="field${error === undefined ? '' : ' has-error'}" data-field="${id}">
          <label for="${id}">${spec.label}</label>
          <p class="hint" id="${id}-hint">${escapeHtml(hint)}</p>
          <noscript><p class="hint">Needs JavaScript: the page sends the video to the bucket itself.</p></noscript>
          <div class="dropzone" data-dropzone>
            <input type="file" id="${id}" aria-describedby="${id}-hint ${id}-error"${error === undefined ? '' : ' aria-invalid="true"'}
              accept="${[...spec.types, ...spec.extensions].join(',')}"
              data-max-size="${parseBytes(spec.maxSize)}" data-max-size-text="${spec.maxSize}"
              data-types="${spec.types.join(',')}" data-extensions="${spec.extensions.join(',')}" data-what="${escapeHtml(spec.what)}"
              data-direct-field="${escapeHtml(direct.field)}" data-direct-prefix="${escapeHtml(direct.prefix)}"
              data-direct-module="${escapeHtml(staticUrl('js/direct-upload.js'))}">
            <p class="drop-text" aria-hidden="true">or drop a file here</p>
          </div>${progressHtml(id, 'Sending to the bucket')}
          ${errorHtml(id, error)}
        </div>`
}

function errorHtml (id, error) {
  return error === undefined
    ? `<p class="error" id="${id}-error" hidden></p>`
    : `<p class="error" id="${id}-error" data-code="${escapeHtml(error.code)}">${escapeHtml(error.message)}</p>`
}

function formHtml ({ errors, formError, values, direct, resumable, staticUrl }) {
  const nameError = errors.name
  return `
      <form id="profile-form" action="/profiles" method="post" enctype="multipart/form-data">
        <div class="form-error" id="form-error" role="alert"${formError === undefined ? ' hidden' : ` data-code="${escapeHtml(formError.code)}"`}>${escapeHtml(formError?.message)}</div>
        <div class="field${nameError === undefined ? '' : ' has-error'}" data-field="name">
          <label for="name">Name</label>
          <p class="hint" id="name-hint">Required, up to ${NAME_MAX} characters.</p>
          <input type="text" name="name" id="name" aria-describedby="name-hint name-error"${nameError === undefined ? '' : ' aria-invalid="true"'} value="${escapeHtml(values.name)}" required maxlength="${NAME_MAX}" autocomplete="name">
          ${errorHtml('name', nameError)}
        </div>
        ${Object.entries(FILE_FIELDS).map(([id, spec]) => fileFieldHtml(id, spec, errors[id], { direct, resumable, staticUrl })).join('')}
        <div class="progress" id="progress" hidden>
          <label for="upload-progress">Uploading</label>
          <progress id="upload-progress" max="100" value="0"></progress>
          <span id="progress-text" aria-live="polite">0%</span>
        </div>
        <button type="submit" id="submit">Save profile</button>
      </form>`
}

function profileHtml (profile) {
  const { avatar, document, contract, recording, video } = profile
  const avatarHtml = avatar.missing
    ? '<div class="avatar avatar-missing" role="img" aria-label="Avatar file missing">?</div>'
    : `<img class="avatar" src="${escapeHtml(avatarSrc(avatar))}" alt="Avatar of ${escapeHtml(profile.name)}" width="96" height="96">`
  const facts = []
  if (!avatar.missing) facts.push(`<li>Avatar: ${avatar.width} × ${avatar.height} px, ${escapeHtml(humanSize(avatar.size))}</li>`)
  if (document !== null) {
    facts.push(document.missing
      ? '<li>Document: file missing</li>'
      : `<li>Document: <a class="document-link" href="${escapeHtml(document.url)}" download="${escapeHtml(document.filename)}">${escapeHtml(document.filename)}</a> (PDF, ${escapeHtml(humanSize(document.size))})</li>`)
  }
  if (contract !== null) {
    facts.push(contract.missing
      ? '<li>Contract: file missing</li>'
      : `<li>Contract: <a class="contract-link" href="${escapeHtml(contract.url)}">view (private, ${escapeHtml(humanSize(contract.size))})</a>, link valid until <time datetime="${contract.expires.toISOString()}">${contract.expires.toISOString().slice(11, 16)} UTC</time></li>`)
  }
  if (recording !== null) {
    facts.push(recording.missing
      ? '<li>Recording: file missing</li>'
      : `<li>Recording: <a class="recording-link" href="${escapeHtml(recording.url)}">${escapeHtml(recording.filename)}</a> (${escapeHtml(humanSize(recording.size))})</li>`)
  }
  if (video !== null) {
    facts.push(video.missing
      ? '<li>Video: file missing</li>'
      : `<li>Video: <a class="video-link" href="${escapeHtml(video.url)}">${escapeHtml(video.filename)}</a> (in the bucket, ${escapeHtml(humanSize(video.size))})</li>`)
  }
  return `
        <li class="profile" id="profile-${escapeHtml(profile.id)}">
          ${avatarHtml}
          <div class="profile-body">
            <h3>${escapeHtml(profile.name)}</h3>
            <ul class="facts">${facts.join('')}</ul>
            <form method="post" action="/profiles/${escapeHtml(profile.id)}/delete">
              <button type="submit" class="delete" aria-label="Delete the profile of ${escapeHtml(profile.name)} and its files">Delete</button>
            </form>
          </div>
        </li>`
}

/**
 * @param {object} page
 * @param {(path: string) => string} page.staticUrl  app.media.static
 * @param {{ prefix: string, field: string }} [page.direct]  the routes that send a video to the bucket
 * @param {{ endpoint: string, field: string }} page.resumable  the tus endpoint that takes a recording
 */
export function renderPage ({ staticUrl, mode, profiles, errors = {}, formError, values = {}, notice, direct, resumable }) {
  const failed = formError !== undefined || Object.keys(errors).length > 0
  const cssUrl = staticUrl('css/app.css')
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${failed ? 'Error: ' : ''}Profiles · fastify-media demo</title>
  <link rel="stylesheet" href="${escapeHtml(cssUrl)}">
  <link rel="icon" href="${escapeHtml(staticUrl('img/logo.svg'))}" type="image/svg+xml">
  <script type="module" src="${escapeHtml(staticUrl('js/upload.js'))}"></script>
</head>
<body>
  <header class="site">
    <a class="brand" href="/">fastify-media</a>
    <p class="tagline">Validated uploads and hashed static files for Fastify: this page uses all of it.</p>
    <ul class="try">
      <li>Files are judged by their bytes, not their names: rename a program to <code>.png</code> and try it.</li>
      <li>Documents land in <code>docs/YYYY/MM/</code>; contracts in a private storage, reached only through links that expire.</li>
      <li>A refused upload stores nothing, not even the files that were fine.</li>
    </ul>
  </header>
  <main>
    ${notice === undefined ? '' : `<p class="notice" role="status">${escapeHtml(notice)}</p>`}
    <section aria-labelledby="new-title">
      <h1 id="new-title">New profile</h1>
      ${formHtml({ errors, formError, values, direct, resumable, staticUrl })}
    </section>
    <section aria-labelledby="profiles-title" id="profiles">
      <h2 id="profiles-title">Profiles</h2>
      ${profiles.length === 0
        ? '<p class="empty">No profiles yet.</p>'
        : `<ul class="profiles">${profiles.map(profileHtml).join('')}
      </ul>`}
    </section>
  </main>
  <footer class="site">
    <p>Static files in ${escapeHtml(mode)} mode: this stylesheet is <code>${escapeHtml(cssUrl)}</code>.</p>
  </footer>
</body>
</html>
`
}
