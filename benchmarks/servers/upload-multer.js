// Baseline (b): express 4 + multer diskStorage, no validation.
import express from 'express'
import multer from 'multer'
import { once } from 'node:events'
import { config, serve } from './ipc.js'

const { dir } = config()
const app = express()
const upload = multer({ storage: multer.diskStorage({ destination: dir }) })
app.post('/upload', upload.single('file'), (req, res) => res.status(201).json({ ok: true }))
// requests cut off when a load run stops are not worth a stack trace each
app.use((err, req, res, next) => res.status(err.message === 'Request aborted' ? 400 : 500).end())
const server = app.listen(0, '127.0.0.1')
await once(server, 'listening')
serve({ port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) })
