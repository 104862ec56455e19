// Small uploads: one 64 KiB PNG per multipart POST, 10 connections.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startServer } from '../lib/child.js'
import { multipartBody, noisePng } from '../lib/fixtures.js'
import { fetchOnce } from '../lib/http.js'
import { runLoad } from '../lib/load.js'
import { cpuExtra, Figure, serverCpuExtra } from '../lib/stats.js'
import { runWrk, wrkMissing } from '../lib/wrk.js'
import { target } from './static.js'

const A = 'fastify + @fastify/multipart pipe (a)'
const B = 'express + multer diskStorage (b)'
const FILE = 'fastify-media FileField'
const COLLIDE = 'fastify-media FileField, the client\'s name'
const IMAGE = 'fastify-media ImageField'
const VARIANTS = 'fastify-media ImageField + variants'

export function filesUnder (dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name))
}

export default {
  name: 'uploads-small',
  async run (ctx) {
    const png = await noisePng(64 * 1024)
    const { body, contentType } = multipartBody('photo.png', 'image/png', png)
    const servers = [
      { label: A, script: 'upload-fastify-multipart.js', uploads: (dir) => dir },
      { label: B, script: 'upload-multer.js', uploads: (dir) => dir },
      { label: FILE, script: 'upload-media.js', field: 'file', uploads: (dir) => join(dir, 'media') },
      { label: COLLIDE, script: 'upload-media.js', field: 'collide', uploads: (dir) => join(dir, 'media') },
      { label: IMAGE, script: 'upload-media.js', field: 'image', uploads: (dir) => join(dir, 'media') },
      { label: VARIANTS, script: 'upload-media.js', field: 'variants', uploads: (dir) => join(dir, 'media'), variants: true }
    ]
    const figure = new Figure(`Small uploads: one ${(png.length / 1024).toFixed(0)} KiB PNG per multipart POST, 10 connections`, {
      unit: 'req/s', baselines: [A, B], extras: [cpuExtra, serverCpuExtra]
    })
    // the cross-check: the same uploads from wrk (a client in C), for the servers the targets compare
    const byWrk = new Figure(`Small uploads: one ${(png.length / 1024).toFixed(0)} KiB PNG per multipart POST, 10 connections (wrk, one thread)`, {
      unit: 'req/s', baselines: [A, B], extras: [serverCpuExtra]
    })
    const noWrk = wrkMissing()
    const bodyFile = join(ctx.scratchDir('uploads-small'), 'body.bin')
    writeFileSync(bodyFile, body)
    const dirs = []
    try {
      for (let round = 1; round <= ctx.rounds; round++) {
        for (const server of servers) {
          const dir = ctx.scratchDir(`uploads-small/${server.script}-${server.field ?? ''}-${round}`)
          dirs.push(dir)
          ctx.sync()
          const running = await startServer(server.script, { dir, field: server.field })
          try {
            const label = `uploads-small ${server.label} round ${round}`
            await preflight(running, { body, contentType, png, server, dir, label })
            const load = { url: `http://127.0.0.1:${running.port}/upload`, method: 'POST', headers: { 'content-type': contentType }, body, connections: 10, label }
            await runLoad({ ...load, duration: ctx.warmup })
            const before = await running.stats()
            const result = await runLoad({ ...load, duration: ctx.duration })
            const after = await running.stats()
            const stored = filesUnder(server.uploads(dir)).length
            // every 2xx stored a file (a request cut off when the run ends may store one the client never saw answered)
            if (stored < result.ok) throw new Error(`${label}: ${result.ok} uploads answered 2xx but ${stored} files stored`)
            figure.add(server.label, result.rps, { clientCpu: result.clientCpu, serverCpu: (after.cpu - before.cpu) / 1e6 / ctx.duration })
            ctx.log(`${label}: ${Math.round(result.rps)} req/s, client CPU ${Math.round(result.clientCpu * 100)}%, ${stored} files`)
          } finally {
            await running.close()
          }
          if (server.variants !== true && noWrk === undefined) {
            // a fresh server and directory: the uploads autocannon left in flight, rolled back when its
            // connections closed, are not counted against wrk's
            const wrkDir = ctx.scratchDir(`uploads-small/wrk-${server.script}-${server.field ?? ''}-${round}`)
            dirs.push(wrkDir)
            ctx.sync()
            const byWrkServer = await startServer(server.script, { dir: wrkDir, field: server.field })
            try {
              const label = `uploads-small ${server.label} round ${round} (wrk)`
              const run = { origin: `http://127.0.0.1:${byWrkServer.port}`, paths: ['/upload'], method: 'POST', headers: { 'content-type': contentType }, bodyFile, connections: 10, label }
              const warm = await runWrk({ ...run, duration: ctx.warmup })
              const before = await byWrkServer.stats()
              const wrk = await runWrk({ ...run, duration: ctx.duration })
              const after = await byWrkServer.stats()
              const stored = filesUnder(server.uploads(wrkDir)).length
              if (stored < warm.requests + wrk.requests) throw new Error(`${label}: wrk counted ${warm.requests + wrk.requests} uploads answered but ${stored} files were stored`)
              byWrk.add(server.label, wrk.rps, { serverCpu: (after.cpu - before.cpu) / 1e6 / ctx.duration })
              ctx.log(`${label}: ${Math.round(wrk.rps)} req/s`)
            } finally {
              await byWrkServer.close()
            }
          }
        }
      }
    } finally {
      // files stay until every round is done (ext4 slows down after mass deletes of small files)
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
      ctx.sync()
    }
    figure.notes.push('fastify-media stores under `up/{uuid}.{ext}`, as the baselines use random names: no upload pays for a name collision, except in the row "the client\'s name" (`uploadTo: \'up/\'`), where every upload after the first finds `photo.png` taken and gets a suffixed name. Each server is a fresh child process per round; uploaded files are kept until all rounds are done.')
    if (noWrk !== undefined) for (const label of [A, B, FILE, COLLIDE, IMAGE]) byWrk.skip(label, noWrk)
    byWrk.notes.push('The same servers and body as above, each a fresh process and directory after its autocannon run, warmed up by wrk first; wrk counts answers of status 400 and above as failures, and each one answered is checked against the files stored.')
    return {
      figures: [figure, byWrk],
      targets: [
        target('Small uploads: FileField >= 0.9x (a)', figure.ratio(FILE, A), 0.9),
        target('Small uploads: FileField >= 1.1x multer', figure.ratio(FILE, B), 1.1),
        target('Small uploads: ImageField >= 0.85x (a)', figure.ratio(IMAGE, A), 0.85),
        target('Small uploads (wrk): FileField >= 0.9x (a)', byWrk.ratio(FILE, A), 0.9),
        target('Small uploads (wrk): ImageField >= 0.85x (a)', byWrk.ratio(IMAGE, A), 0.85)
      ]
    }
  }
}

/** One upload first: 2xx, the PNG stored byte for byte, and for variants its thumbnail next to it. */
async function preflight (running, { body, contentType, png, server, dir, label }) {
  const res = await fetchOnce({ port: running.port, path: '/upload', method: 'POST', headers: { 'content-type': contentType }, body })
  if (res.status < 200 || res.status > 299) throw new Error(`${label}: the first upload got ${res.status} ${res.body}`)
  const stored = filesUnder(server.uploads(dir))
  if (!stored.some((path) => readFileSync(path).equals(png))) throw new Error(`${label}: the uploaded PNG is not stored byte for byte (${stored.length} files)`)
  if (server.variants && !stored.some((path) => path.endsWith('@thumb.webp'))) throw new Error(`${label}: no thumbnail variant stored`)
}
