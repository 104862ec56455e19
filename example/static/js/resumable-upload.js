// A file sent to the demo's tus endpoint (app.media.resumable) with tus-js-client's browser build: the upload
// is created with the field and the file's name in its metadata, the bytes go in PATCH requests, and after a
// cut the client asks the server where it stopped (HEAD) and sends the rest from there. The answer is the
// upload's URL: send it as the field's value in the form, and the upload route checks the file and gives it
// its name.

/** An error from the endpoint (its JSON answer: `code`, `field`, the demo's message) or the network. */
export class ResumableUploadError extends Error {
  constructor (message, { status, code, field } = {}) {
    super(message)
    this.status = status
    this.code = code
    this.field = field
  }
}

/**
 * tus-js-client's dist/tus.min.js (served as the demo's static file vendor/tus/tus.min.js) is a script that
 * sets `window.tus`, not a module: import() runs it once, in the page's origin, as `script-src 'self'` allows.
 */
async function loadTus (src) {
  await import(src)
  return window.tus
}

/** What an error of tus-js-client says: the endpoint's refusal when it answered one, else a lost connection. */
function describe (error) {
  const response = error.originalResponse
  if (response === null || response === undefined) return new ResumableUploadError('The connection was lost during the upload.', { code: 'client:network' })
  let answer = {}
  try {
    answer = JSON.parse(response.getBody())
  } catch {}
  const status = response.getStatus()
  return new ResumableUploadError(answer.message ?? `The upload was refused (${status}).`, { status, code: answer.code ?? `http:${status}`, field: answer.field })
}

/**
 * Uploads `file` for `field` ('model.field') to the tus endpoint at `endpoint`; resolves with the upload's
 * URL. `onProgress(sent, total)` follows the bytes the server has; `onOffline(true)` when the browser loses
 * its connection and the upload waits, `onOffline(false)` when it goes on.
 */
export async function uploadResumable (file, { endpoint, field, tusScript, onProgress = () => {}, onOffline = () => {} }) {
  const { Upload } = await loadTus(tusScript)
  return await new Promise((resolve, reject) => {
    const upload = new Upload(file, {
      endpoint,
      metadata: { field, filename: file.name, filetype: file.type },
      // a request that fails is sent again after these delays (ms), from the offset the server reports (a
      // HEAD first), not from the start; tus-js-client does not retry while the browser says it is offline
      retryDelays: [0, 1000, 3000, 5000, 10000],
      // its URL stays in localStorage under the file's fingerprint (name, type, size, date) until it is
      // finished: the same file chosen again, after a reload or a failure, resumes
      removeFingerprintOnSuccess: true,
      onProgress,
      onSuccess: () => {
        settle()
        resolve(upload.url)
      },
      onError: (error) => {
        // offline: the 'online' listener starts it again
        if (!navigator.onLine) return
        settle()
        reject(describe(error))
      }
    })
    // A request in flight when the connection goes is not always failed by the browser: it may hang until
    // TCP gives up, and chromium keeps sending to a server on the same machine (notes/resumable-browser.md).
    // So the upload stops when the browser goes offline and starts again, from the server's offset, once it
    // is back.
    const offline = () => {
      upload.abort()
      onOffline(true)
    }
    const online = () => {
      onOffline(false)
      upload.start()
    }
    const settle = () => {
      window.removeEventListener('offline', offline)
      window.removeEventListener('online', online)
    }
    window.addEventListener('offline', offline)
    window.addEventListener('online', online)
    upload.findPreviousUploads().catch(() => []).then((previous) => {
      if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0])
      if (navigator.onLine) upload.start()
      else onOffline(true)
    })
  })
}
