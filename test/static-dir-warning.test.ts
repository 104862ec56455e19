import Fastify from 'fastify'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import t from 'tap'
import fastifyMedia from '../lib/index.js'
import { tempDir, type Tap } from './helpers.js'

interface LogLine { level: number, msg: string, option?: string, dir?: string }

/** Registers the plugin on an app whose logger writes into the returned array, and waits for ready. */
async function registerLogged (t: Tap, dir: string, options: Record<string, unknown>): Promise<LogLine[]> {
  const lines: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as LogLine)
      done()
    }
  })
  const app = Fastify({ logger: { stream, level: 'info' } })
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, media: false, ...options })
  await app.ready()
  return lines
}

const WARN = 40

t.test('a static dir that does not exist is a warning on the app\'s logger, and register succeeds (staticfiles.W004)', async (t) => {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'assets'))
  for (const mode of ['development', 'production']) {
    const lines = await registerLogged(t, dir, { mode, static: { dirs: ['assets', { prefix: 'vendor', dir: 'node_modules/x/dist' }] } })
    // (in production @fastify/static also warns that static.root does not exist yet)
    const warnings = lines.filter((line) => line.level === WARN && line.msg.startsWith('fastify-media:'))
    t.equal(warnings.length, 1, `${mode}: one warning, for the missing dir only`)
    t.match(warnings[0], {
      msg: `fastify-media: the directory "${join(dir, 'node_modules/x/dist')}" in static.dirs[1] does not exist`,
      option: 'static.dirs[1]',
      dir: join(dir, 'node_modules/x/dist')
    }, mode)
  }
})

t.test('a static dir that is a file is a warning too', async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'static'), 'not a directory')
  const lines = await registerLogged(t, dir, { static: { dirs: ['static'] } })
  t.match(lines.filter((line) => line.level === WARN), [{ msg: `fastify-media: "${join(dir, 'static')}" in static.dirs[0] is not a directory`, option: 'static.dirs[0]' }])
})

t.test('static dirs that exist give no warning', async (t) => {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'static'))
  const lines = await registerLogged(t, dir, { static: { dirs: ['static'] } })
  t.same(lines.filter((line) => line.level >= WARN), [])
})
