// Static files in the shape of HttpArena's static test: 20 files of 3 to 300 KB (CSS, JS, SVG, JSON),
// Accept-Encoding: br, gzip, every connection rotating through them; measured by autocannon and by wrk.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import Fastify from 'fastify'
import fastifyMedia from '../../dist/index.js'
import { startServer } from '../lib/child.js'
import { cssText, jsText, random, writeFile } from '../lib/fixtures.js'
import { fetchOnce } from '../lib/http.js'
import { runLoad } from '../lib/load.js'
import { nginxMissing, startNginx } from '../lib/nginx.js'
import { cpuExtra, Figure, serverCpuExtra } from '../lib/stats.js'
import { runWrk, wrkMissing } from '../lib/wrk.js'
import { target } from './static.js'

const ACCEPT = { 'accept-encoding': 'br, gzip' }
const COUNT = 20
const KINDS = ['css', 'js', 'svg', 'json']

/** 20 sizes from 3 KB to 300 KB, evenly spaced on a log scale. */
const sizes = () => Array.from({ length: COUNT }, (_, i) => Math.round(3000 * 100 ** (i / (COUNT - 1))))

function content (kind, bytes, rand) {
  if (kind === 'css') return cssText(bytes, rand)
  if (kind === 'js') return jsText(bytes, rand)
  if (kind === 'svg') {
    let out = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 1000">\n'
    while (out.length < bytes) out += `<path d="M${Math.floor(rand() * 1000)} ${Math.floor(rand() * 1000)}L${Math.floor(rand() * 1000)} ${Math.floor(rand() * 1000)}" stroke="#${Math.floor(rand() * 0xffffff).toString(16).padStart(6, '0')}"/>\n`
    return `${out}</svg>\n`
  }
  const rows = []
  while (JSON.stringify(rows).length < bytes) rows.push({ id: rows.length, name: jsText(40, rand).slice(0, 24), score: Math.floor(rand() * 1e6), tags: ['a', 'b', 'c'].slice(0, 1 + Math.floor(rand() * 3)) })
  return JSON.stringify(rows)
}

async function collect (dir) {
  const rand = random(7)
  sizes().forEach((bytes, i) => {
    const kind = KINDS[i % KINDS.length]
    writeFile(join(dir, `src/mix/f${String(i).padStart(2, '0')}.${kind}`), content(kind, bytes, rand))
  })
  const app = Fastify()
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['src'], root: 'staticfiles' }, media: false, mode: 'production' })
  const { manifest } = await app.media.collectstatic()
  await app.close()
  return { root: join(dir, 'staticfiles'), names: Object.values(manifest).sort() }
}

export default {
  name: 'static-mix',
  async run (ctx) {
    const dir = ctx.scratchDir('static-mix')
    ctx.log('static-mix: collecting 20 files of 3 to 300 KB (brotli at quality 11 takes a few seconds)')
    const { root, names } = await collect(dir)
    const paths = names.map((name) => `/static/${name}`)
    const servers = [
      { label: '@fastify/static preCompressed', start: () => startServer('static-fastify.js', { root, preCompressed: true }) },
      { label: 'nginx', start: () => startNginx(root), missing: nginxMissing() },
      { label: 'node:http from memory', start: () => startServer('static-node-memory.js', { root, files: names }) },
      { label: 'fastify-media production', start: () => startServer('static-media.js', { baseDir: dir, dirs: ['src'], root }) }
    ]
    const title = (tool) => `Static, ${COUNT} files of 3-300 KB rotated, 50 connections, Accept-Encoding: br, gzip (${tool})`
    const options = { unit: 'req/s', baselines: ['@fastify/static preCompressed', 'nginx', 'node:http from memory'] }
    const figures = {
      autocannon: new Figure(title('autocannon'), { ...options, extras: [cpuExtra, serverCpuExtra] }),
      wrk: new Figure(title('wrk, one thread'), { ...options, extras: [serverCpuExtra] })
    }
    const noWrk = wrkMissing()
    for (const server of servers) {
      if (server.missing !== undefined) for (const figure of Object.values(figures)) figure.skip(server.label, server.missing)
      else if (noWrk !== undefined) figures.wrk.skip(server.label, noWrk)
    }
    for (let round = 1; round <= ctx.rounds; round++) {
      for (const server of servers.filter((s) => s.missing === undefined)) {
        const running = await server.start()
        try {
          const label = `static-mix ${server.label} round ${round}`
          for (const [i, name] of names.entries()) await check(running.port, paths[i], join(root, name), label)
          const origin = `http://127.0.0.1:${running.port}`
          const load = { url: `${origin}${paths[0]}`, requests: paths.map((path) => ({ path })), connections: 50, headers: ACCEPT, discardBody: true, label }
          await runLoad({ ...load, duration: ctx.warmup })
          let before = await running.stats?.()
          const result = await runLoad({ ...load, duration: ctx.duration })
          let after = await running.stats?.()
          const cpu = () => before === undefined ? undefined : (after.cpu - before.cpu) / 1e6 / ctx.duration
          figures.autocannon.add(server.label, result.rps, { clientCpu: result.clientCpu, serverCpu: cpu() })
          ctx.log(`${label}: autocannon ${Math.round(result.rps)} req/s, client CPU ${Math.round(result.clientCpu * 100)}%`)
          if (noWrk === undefined) {
            before = await running.stats?.()
            const wrk = await runWrk({ origin, paths, connections: 50, duration: ctx.duration, headers: ACCEPT, label })
            after = await running.stats?.()
            figures.wrk.add(server.label, wrk.rps, { serverCpu: cpu() })
            ctx.log(`${label}: wrk ${Math.round(wrk.rps)} req/s`)
          }
        } finally {
          await running.close()
        }
      }
    }
    for (const figure of Object.values(figures)) {
      figure.notes.push('Debian\'s nginx has no brotli module: it serves the `.gz` files (`gzip_static`) where the Node servers send `.br`. One worker process, `sendfile on`.')
    }
    figures.autocannon.notes.push('autocannon\'s body collection is switched off (a no-op body handler); each connection takes the 20 paths in turn.')
    figures.wrk.notes.push('wrk with one thread (the server is one process; the other core is the client\'s), the 20 paths in turn from a Lua script. Server CPU is not measured for nginx.')
    const ours = (tool) => figures[tool].ratio('fastify-media production', 'node:http from memory')
    return {
      figures: Object.values(figures),
      targets: [
        target('20 static files, br/gzip: fastify-media >= 0.9x node:http from memory (autocannon)', ours('autocannon'), 0.9),
        target('20 static files, br/gzip: fastify-media >= 0.9x node:http from memory (wrk)', ours('wrk'), 0.9)
      ]
    }
  }
}

/** One request first: 200, and a body that is the file once decoded. */
async function check (port, url, path, label) {
  const res = await fetchOnce({ port, path: url, headers: ACCEPT })
  if (res.status !== 200) throw new Error(`${label}: GET ${url} answered ${res.status} ${res.body.subarray(0, 300)}`)
  const encoding = res.headers['content-encoding'] ?? 'identity'
  const body = encoding === 'br' ? brotliDecompressSync(res.body) : encoding === 'gzip' ? gunzipSync(res.body) : res.body
  if (!body.equals(readFileSync(path))) throw new Error(`${label}: GET ${url}: the body is not the file (${encoding})`)
}
