// The Node ceiling for static files: node:http answering from Buffers read at startup, br when accepted.
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { config, serve } from './ipc.js'

const { root, files } = config()
const TYPES = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' }
const bodies = new Map(files.map((name) => {
  const type = TYPES[name.slice(name.lastIndexOf('.') + 1)]
  const identity = readFileSync(join(root, name))
  const br = readFileSync(join(root, `${name}.br`))
  const headers = (body) => ({ 'content-type': type, 'content-length': body.length, 'cache-control': 'public, max-age=31536000, immutable', vary: 'accept-encoding' })
  return [`/static/${name}`, { identity, br, identityHeaders: headers(identity), brHeaders: { ...headers(br), 'content-encoding': 'br' } }]
}))

const server = createServer((req, res) => {
  const file = bodies.get(req.url)
  if (file === undefined) return res.writeHead(404).end()
  if (/\bbr\b/.test(req.headers['accept-encoding'] ?? '')) res.writeHead(200, file.brHeaders).end(file.br)
  else res.writeHead(200, file.identityHeaders).end(file.identity)
})
server.listen(0, '127.0.0.1')
await once(server, 'listening')
serve({ port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) })
