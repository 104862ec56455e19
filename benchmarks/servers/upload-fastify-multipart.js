// Baseline (a): fastify + @fastify/multipart piping the file part straight to disk, no validation.
import multipart from '@fastify/multipart'
import Fastify from 'fastify'
import { randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { config, serve } from './ipc.js'

const { dir, fileSize = 1_048_576 } = config()
const app = Fastify()
// its default fileSize limit is the body limit (1 MiB): the large scenario raises it
await app.register(multipart, { limits: { fileSize } })
app.post('/upload', async (req, reply) => {
  const part = await req.file()
  await pipeline(part.file, createWriteStream(join(dir, randomUUID())))
  if (part.file.truncated) throw new Error('file truncated by the fileSize limit')
  return reply.code(201).send({ ok: true })
})
await app.listen({ host: '127.0.0.1', port: 0 })
serve({ port: app.server.address().port, close: () => app.close() })
