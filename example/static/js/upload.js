/* global DataTransfer, XMLHttpRequest */
// The profile form, enhanced: drag and drop onto each file field, a check of size and type before anything
// is sent (the server checks the bytes again and has the last word), and an upload progress bar. Without
// this script the form still posts and the server answers with the page. A video (when the demo runs against
// a bucket) goes to the bucket first, through direct-upload.js; the form then carries its token. A recording
// goes first to the tus endpoint, through resumable-upload.js, resuming after a cut; the form then carries
// the upload's URL in a hidden input of the field's name.

const form = document.getElementById('profile-form')
const progress = document.getElementById('progress')
const bar = document.getElementById('upload-progress')
const progressText = document.getElementById('progress-text')
const formError = document.getElementById('form-error')
const submit = document.getElementById('submit')

/** The same units as the server's messages: '2 MB' is 2 000 000 bytes. */
function humanSize (bytes) {
  if (bytes < 1000) return `${bytes} B`
  let value = bytes
  let unit = 'B'
  for (const next of ['kB', 'MB', 'GB', 'TB']) {
    if (value < 1000) break
    value /= 1000
    unit = next
  }
  return `${Number(value.toFixed(1))} ${unit}`
}

function showError (id, message, code) {
  const field = form.querySelector(`[data-field="${id}"]`)
  const error = document.getElementById(`${id}-error`)
  if (field === null || error === null) return showFormError(message, code)
  field.classList.add('has-error')
  error.textContent = message
  error.dataset.code = code
  error.hidden = false
  document.getElementById(id).setAttribute('aria-invalid', 'true')
}

function clearError (id) {
  const error = document.getElementById(`${id}-error`)
  form.querySelector(`[data-field="${id}"]`).classList.remove('has-error')
  error.textContent = ''
  error.hidden = true
  delete error.dataset.code
  document.getElementById(id).removeAttribute('aria-invalid')
}

function showFormError (message, code) {
  formError.textContent = message
  formError.dataset.code = code
  formError.hidden = false
}

/** A message when the chosen file cannot be right, else null. Names and sizes are all a browser knows. */
function checkFile (input) {
  const file = input.files[0]
  if (file === undefined) return null
  const { maxSize, maxSizeText, types, extensions, what } = input.dataset
  if (file.size > Number(maxSize)) return { message: `This file is ${humanSize(file.size)}, larger than ${maxSizeText}. Choose a smaller one.`, code: 'client:size' }
  const extension = /\.[^.]+$/.exec(file.name)?.[0].toLowerCase() ?? ''
  const typeOk = file.type === '' ? extensions.split(',').includes(extension) : types.split(',').includes(file.type)
  if (!typeOk) return { message: `This file is not ${what}.`, code: 'client:type' }
  return null
}

function checkInput (input) {
  clearError(input.id)
  const problem = checkFile(input)
  if (problem !== null) showError(input.id, problem.message, problem.code)
  return problem === null
}

for (const zone of form.querySelectorAll('[data-dropzone]')) {
  const input = zone.querySelector('input[type="file"]')
  input.addEventListener('change', () => checkInput(input))
  zone.addEventListener('dragover', (event) => {
    event.preventDefault()
    zone.classList.add('dragging')
  })
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'))
  zone.addEventListener('drop', (event) => {
    event.preventDefault()
    zone.classList.remove('dragging')
    const files = event.dataTransfer?.files
    if (files === undefined || files.length === 0) return
    // one file per field: keep the first, as the input itself would
    const one = new DataTransfer()
    one.items.add(files[0])
    input.files = one.files
    input.dispatchEvent(new Event('change', { bubbles: true }))
  })
}

// A recording's file input leaves the form (without script it would go in it, as any file): a hidden input
// of the same name carries the upload's URL instead, once the upload is finished.
const urlInputs = new Map()
for (const input of form.querySelectorAll('input[data-tus-endpoint]')) {
  const url = document.createElement('input')
  url.type = 'hidden'
  url.name = input.name
  url.disabled = true
  input.removeAttribute('name')
  input.after(url)
  urlInputs.set(input, url)
}

function setProgress (percent) {
  bar.value = percent
  progressText.textContent = `${percent}%`
}

/** After a refusal: the bars of a finished video upload would say the opposite of the message. */
function hideProgress () {
  progress.hidden = true
  for (const box of form.querySelectorAll('.field .progress')) box.hidden = true
}

function answerOf (xhr) {
  try {
    return JSON.parse(xhr.responseText)
  } catch {
    return {}
  }
}

/**
 * Sends the chosen video to the bucket, with its own progress bar; resolves with the token the form sends
 * in its place, or with null when no video was chosen or the bucket refused it (the message is shown).
 */
async function sendDirect (input) {
  const file = input.files[0]
  const { uploadDirect } = await import(input.dataset.directModule)
  const bar = document.getElementById(`${input.id}-upload-progress`)
  const text = document.getElementById(`${input.id}-progress-text`)
  const box = document.getElementById(`${input.id}-progress`)
  const show = (percent) => {
    bar.value = percent
    text.textContent = `${percent}%`
  }
  show(0)
  box.hidden = false
  try {
    return await uploadDirect(file, {
      field: input.dataset.directField,
      prefix: input.dataset.directPrefix,
      onProgress: (sent, total) => show(Math.floor((sent / total) * 100))
    })
  } catch (error) {
    box.hidden = true
    showError(input.id, error.code === 'client:network' ? 'The connection was lost while sending the video. Please try again.' : error.message, error.code)
    input.focus()
    return null
  }
}

/**
 * Sends the chosen recording to the tus endpoint, with its own progress bar and a line saying when it waits
 * for the connection; resolves with the upload's URL, or with null when the endpoint refused it or the
 * connection failed for good (the message is shown; sending the form again resumes the upload).
 */
async function sendResumable (input) {
  const file = input.files[0]
  const { uploadResumable } = await import(input.dataset.tusModule)
  const bar = document.getElementById(`${input.id}-upload-progress`)
  const text = document.getElementById(`${input.id}-progress-text`)
  const box = document.getElementById(`${input.id}-progress`)
  const status = document.getElementById(`${input.id}-status`)
  const show = (percent) => {
    bar.value = percent
    text.textContent = `${percent}%`
  }
  show(0)
  box.hidden = false
  try {
    return await uploadResumable(file, {
      endpoint: input.dataset.tusEndpoint,
      field: input.dataset.tusField,
      tusScript: input.dataset.tusScript,
      onProgress: (sent, total) => show(Math.floor((sent / total) * 100)),
      onOffline: (offline) => {
        status.textContent = offline ? 'Offline: the upload goes on from where it stopped once the connection is back.' : ''
        status.hidden = !offline
      }
    })
  } catch (error) {
    box.hidden = true
    showError(input.id, error.code === 'client:network' ? 'The connection was lost while sending the file. Save again: the upload goes on from where it stopped.' : error.message, error.code)
    input.focus()
    return null
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault()
  formError.hidden = true
  const inputs = [...form.querySelectorAll('input[type="file"]')]
  const bad = inputs.filter((input) => !checkInput(input))
  clearError('name')
  if (bad.length > 0) {
    bad[0].focus()
    return
  }

  submit.disabled = true
  // the file input has no name: the endpoint gets the file, the hidden input its URL
  const hidden = []
  for (const input of inputs.filter((input) => input.dataset.tusEndpoint !== undefined && input.files.length > 0)) {
    const url = await sendResumable(input)
    if (url === null) {
      submit.disabled = false
      return
    }
    const urlInput = urlInputs.get(input)
    urlInput.value = url
    urlInput.disabled = false
    hidden.push(urlInput)
  }
  const body = new FormData(form)
  // a commit uses the upload up, whatever the answer: sending the form again sends the file again
  for (const urlInput of hidden) {
    urlInput.value = ''
    urlInput.disabled = true
  }
  // the input has no name, so FormData left its file out: the bucket gets it, the form gets its token
  for (const input of inputs.filter((input) => input.dataset.directField !== undefined && input.files.length > 0)) {
    const token = await sendDirect(input)
    if (token === null) {
      submit.disabled = false
      return
    }
    body.append(input.id, token)
  }

  const xhr = new XMLHttpRequest()
  xhr.open('POST', form.action)
  xhr.setRequestHeader('Accept', 'application/json')
  xhr.upload.addEventListener('progress', (e) => {
    if (e.lengthComputable) setProgress(Math.floor((e.loaded / e.total) * 100))
  })
  xhr.upload.addEventListener('load', () => setProgress(100))
  xhr.addEventListener('load', () => {
    const answer = answerOf(xhr)
    if (xhr.status === 201 && typeof answer.location === 'string') {
      window.location.assign(answer.location)
      return
    }
    submit.disabled = false
    hideProgress()
    const message = answer.message ?? `The server answered ${xhr.status}. Please try again.`
    if (typeof answer.field === 'string') {
      showError(answer.field, message, answer.code)
      document.getElementById(answer.field)?.focus()
    } else {
      showFormError(message, answer.code ?? `http:${xhr.status}`)
    }
  })
  xhr.addEventListener('error', () => {
    submit.disabled = false
    hideProgress()
    showFormError('The connection was lost during the upload. Please try again.', 'client:network')
  })
  setProgress(0)
  progress.hidden = false
  xhr.send(body)
})
