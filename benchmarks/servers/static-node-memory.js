// The Node ceiling for static files: node:http answering from Buffers read at startup, br or gzip when
// accepted (br first) and the variant exists.
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { config, serve } from './ipc.js'

const { root, files } = config()
const TYPES = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8', svg: 'image/svg+xml', json: 'application/json' }
const bodies = new Map(files.map((name) => {
  const type = TYPES[name.slice(name.lastIndexOf('.') + 1)]
  const headers = (body, encoding) => ({
    'content-type': type,
    'content-length': body.length,
    'cache-control': 'public, max-age=31536000, immutable',
    vary: 'accept-encoding',
    ...(encoding === undefined ? {} : { 'content-encoding': encoding })
  })
  const variant = (encoding, ext) => {
    const path = join(root, `${name}.${ext}`)
    if (!existsSync(path)) return undefined
    const body = readFileSync(path)
    return { body, headers: headers(body, encoding) }
  }
  const identity = readFileSync(join(root, name))
  return [`/static/${name}`, { identity: { body: identity, headers: headers(identity) }, br: variant('br', 'br'), gzip: variant('gzip', 'gz') }]
}))

const server = createServer((req, res) => {
  const file = bodies.get(req.url)
  if (file === undefined) return res.writeHead(404).end()
  const accept = req.headers['accept-encoding'] ?? ''
  const chosen = (/\bbr\b/.test(accept) ? file.br : undefined) ?? (/\bgzip\b/.test(accept) ? file.gzip : undefined) ?? file.identity
  res.writeHead(200, chosen.headers).end(chosen.body)
})
server.listen(0, '127.0.0.1')
await once(server, 'listening')
serve({ port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) })
