// Resumable upload: one 256 MiB MP4 (16 MiB with --quick) streamed from disk into a FileSystemStorage, through
// the same app two ways: a plain multipart POST to the FileField's upload route, and tus (tus-js-client in
// 8 MiB chunks: a creation POST, a PATCH per chunk) then the commit POST with the upload's URL. Seconds per
// upload, the throughput of tus against the plain upload, and the server's peak RSS.
import { createReadStream, existsSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { runClient, startServer } from '../lib/child.js'
import { largeMp4, multipartBody, sha256 } from '../lib/fixtures.js'
import { cpuExtra, Figure, mib } from '../lib/stats.js'
import { target } from './static.js'
import { filesUnder } from './uploads-small.js'

const CHUNK = 8 * 2 ** 20
const PLAIN = 'FileField, one multipart POST'
const TUS = `tus in ${mib(CHUNK)} MiB chunks, then the commit POST`
const seconds3 = (v) => v.toFixed(3)

export default {
  name: 'uploads-resumable',
  async run (ctx) {
    const bytes = ctx.quick ? 16 * 2 ** 20 : 256 * 2 ** 20
    const count = ctx.quick ? 1 : 3
    const file = join(ctx.scratchDir('uploads-resumable'), 'large.mp4')
    ctx.log(`uploads-resumable: writing a ${mib(bytes)} MiB file`)
    await largeMp4(file, bytes)
    const digest = await sha256(createReadStream(file))
    const form = multipartBody('large.mp4', 'video/mp4')
    const variants = [
      { label: PLAIN, client: 'upload-child.js', options: { head: form.head, tail: form.tail, contentType: form.contentType } },
      { label: TUS, client: 'resumable-child.js', options: { chunkSize: CHUNK, field: 'clip.file' } }
    ]

    const title = `Resumable upload: one ${mib(bytes)} MiB MP4 per upload into a FileSystemStorage, ${count} in a row per round`
    const time = new Figure(`${title}, seconds per upload (lower is better)`, {
      unit: 's',
      digits: 2,
      extras: [
        { key: 'creation', title: 'creation POST (s)', format: seconds3 },
        { key: 'patches', title: 'PATCHes (s)', format: (v) => v.toFixed(2) },
        { key: 'commit', title: 'commit (s)', format: seconds3 },
        { key: 'requests', title: 'PATCH requests', format: (v) => String(v) },
        { key: 'serverCpu', title: 'server CPU per upload (s)', format: (v) => v.toFixed(2) },
        cpuExtra
      ]
    })
    const speed = new Figure(`${title}, MB/s (10^6 bytes); the ratio is tus / plain as throughput (>= 0.8x: tus reaches at least 80% of the plain upload's speed)`, {
      unit: 'MB/s', baselines: [PLAIN]
    })
    const rss = new Figure(`${title}, server peak RSS (the kernel's high-water mark over the server process's life)`, {
      unit: 'MiB', extras: [{ key: 'start', title: 'RSS once listening (MiB)', format: (v) => v.toFixed(0) }]
    })

    for (let round = 1; round <= ctx.rounds; round++) {
      for (const variant of variants) {
        const dir = ctx.scratchDir(`uploads-resumable/${variant.client}-${round}`)
        ctx.sync()
        const running = await startServer('upload-media-resumable.js', { dir })
        const label = `uploads-resumable ${variant.label} round ${round}`
        try {
          const before = await running.stats()
          const result = await runClient(variant.client, { count, port: running.port, file, ...variant.options })
          const after = await running.stats()
          const bad = result.uploads.find((u) => u.status !== 201)
          if (bad !== undefined) throw new Error(`${label}: the upload on port ${running.port} answered ${bad.status} ${bad.answer ?? ''}`)
          // each upload landed, whole: its stored file is the file, byte for byte, and tus left nothing waiting
          const media = join(dir, 'media')
          const stored = filesUnder(join(media, 'up'))
          if (stored.length !== count || stored.some((path) => statSync(path).size !== bytes)) throw new Error(`${label}: expected ${count} files of ${bytes} bytes, found ${JSON.stringify(stored.map((path) => statSync(path).size))}`)
          for (const path of stored) if (await sha256(createReadStream(path)) !== digest) throw new Error(`${label}: ${path} is not byte for byte the file`)
          const waiting = existsSync(join(media, '.resumable')) ? filesUnder(join(media, '.resumable')) : []
          if (waiting.length > 0) throw new Error(`${label}: left under .resumable/: ${JSON.stringify(waiting)}`)
          const serverCpu = (after.cpu - before.cpu) / 1e6 / count
          // upload-child.js times an upload as a whole, resumable-child.js step by step
          const totals = result.uploads.map((u) => typeof u.seconds === 'number' ? { total: u.seconds } : u.seconds)
          for (const [i, { total, ...steps }] of totals.entries()) {
            time.add(variant.label, total, { ...steps, requests: result.uploads[i].patches, serverCpu, clientCpu: result.clientCpu })
            speed.add(variant.label, bytes / total / 1e6)
          }
          rss.add(variant.label, mib(after.maxRSS), { start: mib(running.startRss) })
          ctx.log(`${label}: ${totals.map((t) => t.total.toFixed(2)).join(', ')} s per upload, peak RSS ${mib(after.maxRSS).toFixed(0)} MiB`)
        } finally {
          await running.close()
          rmSync(dir, { recursive: true, force: true })
        }
      }
    }
    rmSync(file, { force: true })
    time.notes.push(`Both clients stream the file from disk (page cache) in a process of their own, against the same app (a fresh process per round and way). The plain upload is one multipart POST of node:http to the upload route. tus is tus-js-client given an fs.ReadStream, \`chunkSize\` ${mib(CHUNK)} MiB: a creation POST, a PATCH per chunk (each read from the file as it goes), then the upload's URL posted as the field's form value to the same route, which checks the file and links it to its name. Its time runs from the creation POST to the commit's 201: the creation POST's own, the PATCHes (from the creation's answer to the last PATCH's), the commit (from there to the 201).`)
    time.notes.push('Every stored file is checked byte for byte against the file, and nothing may be left under media/.resumable/.')
    return {
      figures: [time, speed, rss],
      targets: [
        target(`Resumable upload: tus ${mib(bytes)} MiB in ${mib(CHUNK)} MiB chunks >= 0.8x the plain FileField upload`, speed.ratio(TUS, PLAIN), 0.8)
      ]
    }
  }
}
