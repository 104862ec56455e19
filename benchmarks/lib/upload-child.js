// The client of the large-upload scenario, in its own process: streams a file from disk (never loaded
// whole, unlike curl --data-binary @file), one upload after another, and times each.
import { createReadStream, statSync } from 'node:fs'
import { request } from 'node:http'
import { pipeline } from 'node:stream/promises'

async function upload ({ port, file, head, tail, contentType }) {
  const size = statSync(file).size
  const length = size + (head?.length ?? 0) + (tail?.length ?? 0)
  const started = process.hrtime.bigint()
  const { status, answer } = await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', agent: false, headers: { 'content-type': contentType, 'content-length': length } }, (res) => {
      // a refusal's body says why, for the scenario's failure message
      const chunks = []
      res.on('data', (chunk) => { if (res.statusCode >= 300) chunks.push(chunk) })
      res.on('end', () => resolve({ status: res.statusCode, answer: Buffer.concat(chunks).subarray(0, 300).toString() }))
    })
    req.on('error', reject)
    if (head !== undefined) req.write(head)
    pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), req, { end: false }).then(() => req.end(tail), reject)
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return { status, answer, seconds, bytes: size }
}

process.once('message', async ({ count, ...options }) => {
  const cpuBefore = process.cpuUsage()
  const started = process.hrtime.bigint()
  const uploads = []
  for (let i = 0; i < count; i++) uploads.push(await upload(options))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = process.cpuUsage(cpuBefore)
  process.send({ type: 'result', uploads, clientCpu: (cpu.user + cpu.system) / 1e6 / seconds }, () => process.exit(0))
})
