// Static files: a 10 KiB CSS and a 1 MiB JS by their hashed names, 50 connections, Accept-Encoding: br.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliDecompressSync } from 'node:zlib'
import fastifyMedia from '../../dist/index.js'
import Fastify from 'fastify'
import { startServer } from '../lib/child.js'
import { cssText, jsText, writeFile } from '../lib/fixtures.js'
import { fetchOnce } from '../lib/http.js'
import { runLoad } from '../lib/load.js'
import { nginxMissing, startNginx } from '../lib/nginx.js'
import { cpuExtra, Figure, serverCpuExtra } from '../lib/stats.js'

const ACCEPT = { 'accept-encoding': 'br' }

async function collect (dir, jsBytes) {
  writeFile(join(dir, 'src/css/app.css'), cssText(10 * 1024))
  writeFile(join(dir, 'src/js/app.js'), jsText(jsBytes))
  const app = Fastify()
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['src'], root: 'staticfiles' }, media: false, mode: 'production' })
  const { manifest } = await app.media.collectstatic()
  await app.close()
  return { root: join(dir, 'staticfiles'), css: manifest['css/app.css'], js: manifest['js/app.js'] }
}

export default {
  name: 'static',
  async run (ctx) {
    const dir = ctx.scratchDir('static')
    const jsBytes = ctx.quick ? 128 * 1024 : 1024 * 1024
    ctx.log(`static: collecting a 10 KiB CSS and a ${jsBytes / 1024} KiB JS (brotli at quality 11 takes a few seconds)`)
    const { root, css, js } = await collect(dir, jsBytes)
    const files = [
      { key: 'css', name: css, title: 'Static, 10 KiB CSS, 50 connections, Accept-Encoding: br' },
      { key: 'js', name: js, title: `Static, ${jsBytes / 1024} KiB JS, 50 connections, Accept-Encoding: br` }
    ]
    const servers = [
      { label: '@fastify/static', start: () => startServer('static-fastify.js', { root, preCompressed: false }) },
      { label: '@fastify/static preCompressed', start: () => startServer('static-fastify.js', { root, preCompressed: true }) },
      { label: 'nginx', start: () => startNginx(root), missing: nginxMissing() },
      { label: 'node:http from memory', start: () => startServer('static-node-memory.js', { root, files: [css, js] }) },
      { label: 'fastify-media production', start: () => startServer('static-media.js', { baseDir: dir, dirs: ['src'], root }) }
    ]
    const figures = Object.fromEntries(files.map((f) => [f.key, new Figure(f.title, {
      unit: 'req/s',
      baselines: ['@fastify/static', '@fastify/static preCompressed', 'nginx', 'node:http from memory'],
      extras: [cpuExtra, serverCpuExtra, { key: 'encoding', title: 'served', format: (v) => v }]
    })]))
    for (const server of servers.filter((s) => s.missing !== undefined)) {
      for (const figure of Object.values(figures)) figure.skip(server.label, server.missing)
    }
    const encodings = new Map()
    for (let round = 1; round <= ctx.rounds; round++) {
      for (const server of servers.filter((s) => s.missing === undefined)) {
        const running = await server.start()
        try {
          for (const file of files) {
            const url = `/static/${file.name}`
            const encoding = await check(running.port, url, join(root, file.name), server.label)
            encodings.set(`${file.key} ${server.label}`, encoding)
            const label = `static ${file.key} ${server.label} round ${round}`
            const load = { url: `http://127.0.0.1:${running.port}${url}`, connections: 50, headers: ACCEPT, discardBody: true, label }
            await runLoad({ ...load, duration: ctx.warmup })
            const before = await running.stats?.()
            const result = await runLoad({ ...load, duration: ctx.duration })
            const after = await running.stats?.()
            const serverCpu = before === undefined ? undefined : (after.cpu - before.cpu) / 1e6 / ctx.duration
            figures[file.key].add(server.label, result.rps, { clientCpu: result.clientCpu, serverCpu, encoding })
            ctx.log(`${label}: ${Math.round(result.rps)} req/s, client CPU ${Math.round(result.clientCpu * 100)}%, ${encoding}`)
          }
        } finally {
          await running.close()
        }
      }
    }
    for (const figure of Object.values(figures)) {
      figure.notes.push('autocannon\'s body collection is switched off (a no-op body handler): with it, the client runs out of CPU on large bodies before the server does.')
      figure.notes.push('Debian\'s nginx has no brotli module: it answers a `br`-only client with the identity file (`gzip_static` serves `.gz` to gzip clients only). One worker process, `sendfile on`.')
      figure.notes.push('Plain @fastify/static (no preCompressed) sends identity bodies too. Server CPU is not measured for nginx.')
    }
    return {
      figures: Object.values(figures),
      targets: [
        target('10 KiB CSS: fastify-media >= 4x @fastify/static', figures.css.ratio('fastify-media production', '@fastify/static'), 4),
        target('10 KiB CSS: fastify-media >= 0.4x nginx', figures.css.ratio('fastify-media production', 'nginx'), 0.4),
        target(`${jsBytes / 1024} KiB JS, br: fastify-media >= 1.5x @fastify/static preCompressed`, figures.js.ratio('fastify-media production', '@fastify/static preCompressed'), 1.5)
      ]
    }
  }
}

export const target = (what, ratio, goal) => ({ what, ratio, goal, met: ratio === undefined ? undefined : ratio >= goal })

/** One request first: 200, and a body that is the file (br-decoded when br was sent). */
async function check (port, url, path, label) {
  const res = await fetchOnce({ port, path: url, headers: ACCEPT })
  if (res.status !== 200) throw new Error(`${label} ${url}: status ${res.status}`)
  const encoding = res.headers['content-encoding'] ?? 'identity'
  const body = encoding === 'br' ? brotliDecompressSync(res.body) : res.body
  if (!body.equals(readFileSync(path))) throw new Error(`${label} ${url}: the body is not the file (${encoding})`)
  return encoding
}
