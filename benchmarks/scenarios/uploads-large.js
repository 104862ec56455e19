// Large upload: one 256 MiB file per POST, streamed from disk, one at a time. MB/s and the server's peak RSS.
import { rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { runClient, startServer } from '../lib/child.js'
import { largePdf, multipartBody } from '../lib/fixtures.js'
import { Figure, mib } from '../lib/stats.js'
import { target } from './static.js'
import { filesUnder } from './uploads-small.js'

const PIPE = 'node:http raw body pipe'
const A = 'fastify + @fastify/multipart pipe (a)'
const B = 'express + multer diskStorage (b)'
const FILE = 'fastify-media FileField'

export default {
  name: 'uploads-large',
  async run (ctx) {
    const bytes = ctx.quick ? 16 * 1024 * 1024 : 256 * 1024 * 1024
    const count = ctx.quick ? 1 : 3
    const file = join(ctx.scratchDir('uploads-large'), 'large.pdf')
    ctx.log(`uploads-large: writing a ${mib(bytes)} MiB file`)
    await largePdf(file, bytes)
    const form = multipartBody('large.pdf', 'application/pdf')
    const servers = [
      { label: PIPE, script: 'upload-node-pipe.js', raw: true, uploads: (dir) => dir },
      { label: A, script: 'upload-fastify-multipart.js', uploads: (dir) => dir },
      { label: B, script: 'upload-multer.js', uploads: (dir) => dir },
      { label: FILE, script: 'upload-media.js', field: 'file', uploads: (dir) => join(dir, 'media') }
    ]
    const title = `Large upload: one ${mib(bytes)} MiB file per POST, ${count} in a row per round`
    const speed = new Figure(`${title}, MB/s (10^6 bytes)`, { unit: 'MB/s', baselines: [PIPE, A, B], extras: [{ key: 'clientCpu', title: 'client CPU', format: (v) => `${Math.round(v * 100)}%` }] })
    const rss = new Figure(`${title}, server peak RSS (the kernel's high-water mark over the server process's life)`, {
      unit: 'MiB', baselines: [], extras: [{ key: 'start', title: 'RSS once listening (MiB)', format: (v) => v.toFixed(0) }]
    })
    for (let round = 1; round <= ctx.rounds; round++) {
      for (const server of servers) {
        const dir = ctx.scratchDir(`uploads-large/${server.script}-${round}`)
        ctx.sync()
        const running = await startServer(server.script, { dir, field: server.field, fileSize: 2 ** 40 })
        const label = `uploads-large ${server.label} round ${round}`
        try {
          const result = await runClient('upload-child.js', { count, port: running.port, file, ...(server.raw ? { contentType: 'application/octet-stream' } : { head: form.head, tail: form.tail, contentType: form.contentType }) })
          const bad = result.uploads.find((u) => u.status < 200 || u.status > 299)
          if (bad !== undefined) throw new Error(`${label}: POST /upload on port ${running.port} answered ${bad.status} ${bad.answer}`)
          const stored = filesUnder(server.uploads(dir)).map((path) => statSync(path).size)
          if (stored.length !== count || stored.some((size) => size !== bytes)) throw new Error(`${label}: expected ${count} files of ${bytes} bytes, found ${JSON.stringify(stored)}`)
          const { maxRSS } = await running.stats()
          const seconds = result.uploads.reduce((sum, u) => sum + u.seconds, 0)
          speed.add(server.label, (bytes * count) / seconds / 1e6, { clientCpu: result.clientCpu })
          rss.add(server.label, mib(maxRSS), { start: mib(running.startRss) })
          ctx.log(`${label}: ${((bytes * count) / seconds / 1e6).toFixed(0)} MB/s, peak RSS ${mib(maxRSS).toFixed(0)} MiB`)
        } finally {
          await running.close()
          // a few large files, not thousands of small ones: deleting them at once is cheap
          rmSync(dir, { recursive: true, force: true })
        }
      }
    }
    rmSync(file, { force: true })
    speed.notes.push('The client streams the file from disk (page cache) with node:http in its own process; the bare pipe gets the raw body, the others one multipart part. @fastify/multipart\'s fileSize limit is raised (its default is the 1 MiB body limit).')
    return {
      figures: [speed, rss],
      targets: [
        target('Large upload: FileField >= 0.95x (a)', speed.ratio(FILE, A), 0.95),
        target('Large upload: FileField >= 0.95x the bare node:http pipe', speed.ratio(FILE, PIPE), 0.95),
        { what: 'Large upload: FileField peak RSS < 128 MiB', ratio: undefined, goal: 128, met: rss.median(FILE) === undefined ? undefined : rss.median(FILE) < 128, value: `${rss.median(FILE)?.toFixed(0)} MiB` }
      ]
    }
  }
}
