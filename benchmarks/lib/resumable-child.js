// The client of the resumable-upload scenario, in its own process, doing what a page with tus-js-client does:
// uploads a file from disk (an fs.ReadStream: tus-js-client reads each chunk from the file as its PATCH goes,
// none is held in memory) in `chunkSize` chunks, then posts the finished upload's URL as the field's form value
// to the upload route. `count` uploads in a row; each timed from the creation POST to the commit's answer.
import { createReadStream } from 'node:fs'
import { basename } from 'node:path'
import { Upload } from 'tus-js-client'
import { call, expect2xx, form } from './requests.js'

const clock = () => Number(process.hrtime.bigint()) / 1e9

/** One tus upload; resolves its URL, when its creation POST started and was answered, and its PATCHes. */
function tus ({ port, file, chunkSize, field }) {
  const at = { patches: 0 }
  return new Promise((resolve, reject) => {
    const upload = new Upload(createReadStream(file), {
      endpoint: `http://127.0.0.1:${port}/files`,
      chunkSize,
      metadata: { field, filename: basename(file), filetype: 'video/mp4' },
      // a failed request fails the run: a retry would hide it in the time
      retryDelays: [],
      onBeforeRequest (req) {
        if (req.getMethod() === 'POST') at.post = clock()
      },
      onAfterResponse (req) {
        if (req.getMethod() === 'POST') at.created = clock()
        if (req.getMethod() === 'PATCH') {
          at.patches++
          at.sent = clock()
        }
      },
      onError: reject,
      onSuccess: () => resolve({ url: upload.url, ...at })
    })
    upload.start()
  })
}

async function resumable ({ port, file, chunkSize, field }) {
  const sent = await tus({ port, file, chunkSize, field })
  const { headers, body } = form({ [field.slice(field.indexOf('.') + 1)]: sent.url })
  const committed = expect2xx('commit', await call(`http://127.0.0.1:${port}/upload`, { headers, body }))
  const done = clock()
  return {
    status: committed.status,
    name: JSON.parse(committed.body).file,
    patches: sent.patches,
    seconds: { creation: sent.created - sent.post, patches: sent.sent - sent.created, commit: done - sent.sent, total: done - sent.post }
  }
}

process.once('message', async ({ count, ...options }) => {
  try {
    const cpuBefore = process.cpuUsage()
    const started = process.hrtime.bigint()
    const uploads = []
    for (let i = 0; i < count; i++) uploads.push(await resumable(options))
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const cpu = process.cpuUsage(cpuBefore)
    process.send({ type: 'result', uploads, clientCpu: (cpu.user + cpu.system) / 1e6 / seconds }, () => process.exit(0))
  } catch (err) {
    process.send({ type: 'result', error: err.stack ?? String(err) }, () => process.exit(1))
  }
})
