// Direct upload: one 256 MiB file (16 MiB with --quick) into an S3Storage on s3rver, three ways: a plain
// FileField upload through the app, and direct uploads (presign, the bytes straight to the bucket, the token
// committed through the app) as one POST form and as 8 MiB parts. Times each (the commit request alone too),
// and counts the bytes the app received for each. Every object is checked byte for byte against the file.
import { ListObjectsCommand, DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { createReadStream, rmSync } from 'node:fs'
import { join } from 'node:path'
import { runClient, startServer } from '../lib/child.js'
import { largePdf, multipartBody, sha256 } from '../lib/fixtures.js'
import { Figure, mib } from '../lib/stats.js'

const BUCKET = 'bench'
const PLAIN = 'FileField upload through the app'
const FLOWS = [
  { flow: 'post', label: 'direct, one POST form' },
  { flow: 'parts', label: 'direct, 8 MiB parts' }
]
const COMMIT = (label) => `${label}: the commit request alone`
const TOTAL = (label) => `${label}: presign + to the bucket + commit`

export default {
  name: 'uploads-direct',
  async run (ctx) {
    const bytes = ctx.quick ? 16 * 1024 * 1024 : 256 * 1024 * 1024
    const file = join(ctx.scratchDir('uploads-direct'), 'large.pdf')
    ctx.log(`uploads-direct: writing a ${mib(bytes)} MiB file`)
    await largePdf(file, bytes)
    const digest = await sha256(createReadStream(file))
    const s3 = await startServer('s3rver.js', { dir: ctx.scratchDir('uploads-direct/s3rver'), bucket: BUCKET })
    const endpoint = `http://127.0.0.1:${s3.port}`
    const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
    const keys = async (prefix) => ((await client.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((object) => object.Key)

    /** The one object under `prefix` holds the file's bytes; then it is deleted, and quarantine is empty. */
    const check = async (label, prefix) => {
      const stored = await keys(prefix)
      if (stored.length !== 1) throw new Error(`${label}: expected one object under ${prefix}, found ${JSON.stringify(stored)}`)
      const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: stored[0] }))
      if (await sha256(object.Body) !== digest) throw new Error(`${label}: ${stored[0]} is not byte for byte the file`)
      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: stored[0] }))
      const quarantined = await keys('.direct/q/')
      if (quarantined.length > 0) throw new Error(`${label}: left in quarantine: ${JSON.stringify(quarantined)}`)
    }

    const title = `Direct upload: one ${mib(bytes)} MiB file into S3Storage (s3rver on 127.0.0.1)`
    const seconds = new Figure(`${title}, seconds per upload (lower is better)`, {
      unit: 's', digits: 2, baselines: [PLAIN], extras: [{ key: 'presign', title: 'presign (s)', format: (v) => v.toFixed(3) }, { key: 'transfer', title: 'to the bucket (s)', format: (v) => v.toFixed(2) }]
    })
    const received = new Figure(`${title}, bytes the app received per upload (read off its sockets, headers included)`, {
      unit: 'bytes', baselines: [], extras: [{ key: 'bodies', title: 'request bodies (content-length)', format: (v) => v.toLocaleString('en-US') }, { key: 'share', title: 'of the file', format: (v) => `${(v * 100).toPrecision(3)}%` }]
    })
    const cpu = new Figure(`${title}, the app server's CPU per upload`, {
      unit: 'CPU s', digits: 3, baselines: [PLAIN], extras: [{ key: 'rss', title: 'server peak RSS (MiB)', format: (v) => v.toFixed(0) }]
    })

    try {
      for (let round = 1; round <= ctx.rounds; round++) {
        for (const variant of [{ label: PLAIN }, ...FLOWS]) {
          ctx.sync()
          const app = await startServer('upload-media-s3.js', { endpoint, bucket: BUCKET })
          const label = `uploads-direct ${variant.label} round ${round}`
          try {
            const before = await app.stats()
            let result
            if (variant.flow === undefined) {
              const form = multipartBody('large.pdf', 'application/pdf')
              const { uploads: [upload] } = await runClient('upload-child.js', { count: 1, port: app.port, file, head: form.head, tail: form.tail, contentType: form.contentType })
              if (upload.status < 200 || upload.status > 299) throw new Error(`${label}: POST /upload on port ${app.port} answered ${upload.status} ${upload.answer}`)
              seconds.add(PLAIN, upload.seconds)
              result = { seconds: { total: upload.seconds } }
              await check(label, 'plain/')
            } else {
              result = await runClient('direct-child.js', { port: app.port, path: file, contentType: 'application/pdf', flow: variant.flow })
              seconds.add(COMMIT(variant.label), result.seconds.commit)
              seconds.add(TOTAL(variant.label), result.seconds.total, { presign: result.seconds.presign, transfer: result.seconds.transfer })
              await check(label, `${variant.flow}/`)
            }
            const after = await app.stats()
            const bytesRead = after.bytesRead - before.bytesRead
            received.add(variant.label, bytesRead, { bodies: after.bodies - before.bodies, share: bytesRead / bytes })
            cpu.add(variant.label, (after.cpu - before.cpu) / 1e6, { rss: mib(after.maxRSS) })
            ctx.log(`${label}: ${result.seconds.total.toFixed(2)} s${result.seconds.commit === undefined ? '' : ` (commit ${result.seconds.commit.toFixed(2)} s, ${result.parts} part${result.parts === 1 ? '' : 's'})`}, the app read ${bytesRead.toLocaleString('en-US')} bytes`)
          } finally {
            await app.close()
          }
        }
      }
    } finally {
      client.destroy()
      await s3.close()
      rmSync(file, { force: true })
    }
    seconds.notes.push('The client streams the file from disk in its own process. The plain upload is one multipart POST to the app, which streams it on to the bucket (lib-storage, 5 MiB parts, 2 at a time). The direct uploads ask the app to presign, send the file to s3rver themselves (one POST form, or 8 MiB parts, 4 at a time, each part signed by the app), then post the token to the app: the commit reads the object\'s size and first 64 KiB, copies it to its name inside the bucket and deletes the quarantined one. s3rver copies with the filesystem; on S3 the copy is the bucket\'s own work too, at a speed these figures do not show.')
    received.notes.push('A fresh app process per upload; the counts are the app server\'s own (socket bytesRead and the sum of the requests\' Content-Length), read before and after the upload. A direct upload\'s requests are the presign, a signature per part, the completion and the commit form.')
    const app = received.median(FLOWS[1].label)
    return {
      figures: [seconds, received, cpu],
      targets: [
        { what: 'Direct upload: the app receives < 64 KiB for it (8 MiB parts)', ratio: undefined, goal: 65536, met: app === undefined ? undefined : app < 65536, value: app === undefined ? undefined : `${app.toLocaleString('en-US')} bytes` }
      ]
    }
  }
}
