// Variants made after the upload (`generation: 'lazy'`): what an upload with only lazy variants costs next
// to the same ImageField without variants, and what the first request for a lazy variant costs the server.
import { rmSync } from 'node:fs'
import sharp from 'sharp'
import { startServer } from '../lib/child.js'
import { multipartBody, noisePng } from '../lib/fixtures.js'
import { fetchOnce } from '../lib/http.js'
import { runLoad } from '../lib/load.js'
import { cpuExtra, Figure, median, serverCpuExtra } from '../lib/stats.js'
import { target } from './static.js'
import { filesUnder } from './uploads-small.js'

const IMAGE = 'fastify-media ImageField'
const LAZY = 'fastify-media ImageField + 2 lazy variants'
const FIRST = 'first request (makes it)'
const LATER = 'later requests'

/** A noisy 1 MP JPEG (1152x864): what a phone photo resized for the web looks like to the encoder. */
async function photo () {
  return await sharp({ create: { width: 1152, height: 864, channels: 3, background: '#777', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg({ quality: 85 }).toBuffer()
}

export default {
  name: 'variants-lazy',
  async run (ctx) {
    const png = await noisePng(64 * 1024)
    const upload = multipartBody('photo.png', 'image/png', png)
    const uploads = new Figure(`Uploads with lazy variants: one ${(png.length / 1024).toFixed(0)} KiB PNG per multipart POST, 10 connections`, {
      unit: 'req/s', baselines: [IMAGE], extras: [cpuExtra, serverCpuExtra]
    })
    const jpeg = await photo()
    const firstHits = ctx.quick ? 5 : 30
    const serverTime = new Figure(`Lazy 400 px WebP of a 1 MP JPEG (${(jpeg.length / 1024).toFixed(0)} KiB): server time per request, median of ${firstHits} images`, {
      unit: 'ms', digits: 1, rowTitle: 'request'
    })
    const dirs = []
    try {
      for (let round = 1; round <= ctx.rounds; round++) {
        for (const [label, field] of [[IMAGE, 'image'], [LAZY, 'lazy']]) {
          const dir = ctx.scratchDir(`variants-lazy/upload-${field}-${round}`)
          dirs.push(dir)
          ctx.sync()
          const running = await startServer('variants-media.js', { dir, field })
          try {
            const name = `variants-lazy ${label} round ${round}`
            const first = await fetchOnce({ port: running.port, path: '/upload', method: 'POST', headers: { 'content-type': upload.contentType }, body: upload.body })
            if (first.status !== 201) throw new Error(`${name}: the first upload got ${first.status} ${first.body}`)
            const load = { url: `http://127.0.0.1:${running.port}/upload`, method: 'POST', headers: { 'content-type': upload.contentType }, body: upload.body, connections: 10, label: name }
            await runLoad({ ...load, duration: ctx.warmup })
            const before = await running.stats()
            const result = await runLoad({ ...load, duration: ctx.duration })
            const after = await running.stats()
            const stored = filesUnder(dir).length
            // lazy variants are made on request only: an upload stores its original alone
            if (stored < result.ok) throw new Error(`${name}: ${result.ok} uploads answered 2xx but ${stored} files stored`)
            if (filesUnder(dir).some((path) => path.includes('@'))) throw new Error(`${name}: a variant was made during the upload`)
            uploads.add(label, result.rps, { clientCpu: result.clientCpu, serverCpu: (after.cpu - before.cpu) / 1e6 / ctx.duration })
            ctx.log(`${name}: ${Math.round(result.rps)} req/s`)
          } finally {
            await running.close()
          }
        }

        const dir = ctx.scratchDir(`variants-lazy/first-${round}`)
        dirs.push(dir)
        const running = await startServer('variants-media.js', { dir, field: 'lazy' })
        try {
          const name = `variants-lazy first request round ${round}`
          const photoUpload = multipartBody('photo.jpg', 'image/jpeg', jpeg)
          const urls = []
          for (let i = 0; i < firstHits; i++) {
            const res = await fetchOnce({ port: running.port, path: '/upload', method: 'POST', headers: { 'content-type': photoUpload.contentType }, body: photoUpload.body })
            if (res.status !== 201) throw new Error(`${name}: upload ${i} got ${res.status} ${res.body}`)
            urls.push(JSON.parse(res.body).file.variants.card.url)
          }
          await running.stats()
          // one at a time: the time of one image's variant, not of a queue
          for (const url of urls) {
            const res = await fetchOnce({ port: running.port, path: url })
            if (res.status !== 200 || res.headers['content-type'] !== 'image/webp') throw new Error(`${name}: ${url} got ${res.status} ${res.headers['content-type']}`)
            const meta = await sharp(res.body).metadata()
            if (meta.width !== 400) throw new Error(`${name}: ${url} is ${meta.width} px wide`)
          }
          const { timings } = await running.stats()
          serverTime.add(FIRST, median(timings))
          for (const url of urls) await fetchOnce({ port: running.port, path: url })
          serverTime.add(LATER, median((await running.stats()).timings))
          const hit = await runLoad({ url: `http://127.0.0.1:${running.port}${urls[0]}`, connections: 10, duration: ctx.duration, label: name })
          ctx.log(`${name}: first ${median(timings).toFixed(1)} ms, later hits ${Math.round(hit.rps)} req/s under load`)
          serverTime.notes.push(`Round ${round}: later hits of one made variant under load (autocannon, 10 connections): ${Math.round(hit.rps)} req/s.`)
        } finally {
          await running.close()
        }
      }
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
      ctx.sync()
    }
    uploads.notes.push('The same 64 KiB PNG and route; the lazy field declares a 200x200 WebP thumbnail and a 400 px WebP card, both `generation: \'lazy\'`: the upload stores the original alone and returns the variants\' names, URLs and planned sizes.')
    serverTime.notes.push('Server time: from the request\'s onRequest hook to its onResponse hook, in the server process. The first request reads the original, checks its header against the field, decodes, resizes, encodes and stores the variant, then serves it; later requests serve the stored file.')
    const firstMs = serverTime.median(FIRST)
    return {
      figures: [uploads, serverTime],
      targets: [
        target('Upload with only lazy variants >= 0.8x ImageField without variants', uploads.ratio(LAZY, IMAGE), 0.8),
        target('First request for a lazy 400 px WebP of a 1 MP JPEG < 50 ms server time (50 ms / median)', firstMs === undefined ? undefined : 50 / firstMs, 1)
      ]
    }
  }
}
