// The Node ceiling for a large upload: node:http piping the raw request body to a file.
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { config, serve } from './ipc.js'

const { dir } = config()
const server = createServer((req, res) => {
  pipeline(req, createWriteStream(join(dir, randomUUID()))).then(
    () => { res.writeHead(201).end() },
    () => { res.writeHead(500).end() }
  )
})
server.listen(0, '127.0.0.1')
await once(server, 'listening')
serve({ port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) })
