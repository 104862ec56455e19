// A server killed in the middle of an upload leaves its partial file in `.tmp/`: the next start removes
// what is older than limits.uploadTimeout, and a periodic sweep catches what other processes on the same
// root leave while this one runs. Real child processes, real files.
import t from 'tap'
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, utimesSync, watch, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { request } from 'undici'
import fastifyMedia, { Disk, FileSystemStorage } from '../../lib/index.js'
import { FileSystemDriver } from '../../lib/storage/filesystem.js'
import { fixture, tempDir, type Tap } from '../helpers.js'
import { body, filler, MULTIPART, partHead, RawConnection, requestHead, within } from '../http-helpers.js'

const SERVER = join(import.meta.dirname, 'tmp-sweep-server.mjs')
const MiB = 1024 * 1024
const HOUR = 60 * 60 * 1000

async function start (t: Tap, baseDir: string, uploadTimeout: number): Promise<{ child: ChildProcess, port: number }> {
  const child = fork(SERVER, [baseDir, String(uploadTimeout)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const [message] = await within(once(child, 'message'), 'the server listening', 60_000) as [{ port: number }]
  return { child, port: message.port }
}

/** Resolves once `check` holds, looked at on every change fs.watch reports in `dir` (and once at the start). */
async function whenChanged (dir: string, check: () => boolean, what: string): Promise<void> {
  const watcher = watch(dir)
  try {
    await within(new Promise<void>((resolve) => {
      const look = (): void => { if (check()) resolve() }
      watcher.on('change', look)
      look()
    }), what)
  } finally {
    watcher.close()
  }
}

const sizes = (dir: string): Record<string, number> => Object.fromEntries(readdirSync(dir).map((name) => {
  try {
    return [name, statSync(join(dir, name)).size]
  } catch {
    return [name, -1]
  }
}))

const setAge = (path: string, ms: number): void => {
  const then = new Date(Date.now() - ms)
  utimesSync(path, then, then)
}

t.test('a server SIGKILLed mid-upload leaves a partial .tmp file; the restarted server removes it at start and keeps a younger one', async (t) => {
  if (!existsSync(join(import.meta.dirname, '..', '..', 'dist', 'index.js'))) t.fail('dist/index.js is missing: run `npm run build` first (npm test does)')
  const dir = tempDir(t)
  const temp = join(dir, 'media', '.tmp')
  // made first, so that the test can watch it from the upload's first byte
  mkdirSync(temp, { recursive: true })
  const first = await start(t, dir, 60_000)

  // a 50 MiB file announced, 2 MiB of it sent; the server is killed once a temp file holds 1 MiB
  const conn = await RawConnection.open(first.port)
  t.teardown(() => conn.destroy())
  const head = partHead('doc', 'big.pdf', 'application/pdf')
  const growing = whenChanged(temp, () => Object.values(sizes(temp)).some((size) => size >= MiB), 'a temp file of 1 MiB')
  await conn.write(requestHead('/docs', first.port, head.length + 50 * MiB))
  await conn.write(head)
  await conn.write('%PDF-1.4\n')
  for (const chunk of filler(2 * MiB)) await conn.write(chunk)
  await growing
  const exited = once(first.child, 'exit')
  first.child.kill('SIGKILL')
  await within(exited, 'the server gone')
  const left = sizes(temp)
  t.equal(Object.keys(left).length, 1, `the killed upload left one temp file (${JSON.stringify(left)})`)
  const [partial] = Object.keys(left) as [string]
  t.ok(left[partial]! >= MiB, `${left[partial]} bytes of it`)

  // the partial file is two minutes old (uploadTimeout is one); another process's upload is writing a fresh one
  setAge(join(temp, partial), 2 * 60_000)
  writeFileSync(join(temp, 'live-upload'), 'being written')
  const second = await start(t, dir, 60_000)
  t.same(readdirSync(temp), ['live-upload'], 'the partial file is gone by the time the server listens; the younger file stays')

  const res = await request(`http://127.0.0.1:${second.port}/docs`, {
    method: 'POST',
    headers: { 'content-type': MULTIPART },
    body: body([{ name: 'doc', filename: 'after.pdf', content: fixture('fixture.pdf') }])
  })
  t.equal(res.statusCode, 201, await res.body.text())
  t.ok(existsSync(join(dir, 'media', 'docs', 'after.pdf')), 'the restarted server stores uploads')
})

t.test('the sweep timer does not keep the process alive', async (t) => {
  const child = fork(SERVER, [tempDir(t), '60000', 'ready-only'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const [code] = await within(once(child, 'exit'), 'the process ending by itself with its app ready and not closed')
  t.equal(code, 0)
})

type Log = Record<string, unknown>

/**
 * An app on `dir`'s media root (or the given storages), ready, closed when the test ends. `logs` holds its
 * log lines; `logged(msg)` resolves with the first line saying `msg`.
 */
async function readyApp (t: Tap, dir: string, options: { uploadTimeout: number, storages?: Record<string, FileSystemStorage | Disk> }): Promise<{ logs: Log[], logged: (msg: string) => Promise<Log> }> {
  const logs: Log[] = []
  const waiting: Array<{ msg: string, resolve: (line: Log) => void }> = []
  const stream = new Writable({
    write (line: Buffer, _encoding, done) {
      const log = JSON.parse(line.toString()) as Log
      logs.push(log)
      for (const wait of waiting) if (wait.msg === log.msg) wait.resolve(log)
      done()
    }
  })
  const logged = async (msg: string): Promise<Log> => logs.find((log) => log.msg === msg) ?? await within(new Promise<Log>((resolve) => waiting.push({ msg, resolve })), msg)
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: false, storages: options.storages, limits: { uploadTimeout: options.uploadTimeout } })
  await app.ready()
  return { logs, logged }
}

t.test('a running server sweeps .tmp/ again every uploadTimeout: a file another process left goes', async (t) => {
  const dir = tempDir(t)
  const temp = join(dir, 'media', '.tmp')
  mkdirSync(temp, { recursive: true })
  const { logged } = await readyApp(t, dir, { uploadTimeout: 1000 })
  writeFileSync(join(temp, 'left-by-a-crash'), 'x')
  setAge(join(temp, 'left-by-a-crash'), HOUR)
  t.match(await logged('fastify-media: removed scratch files a crashed save left'), { storage: 'default', removed: ['.tmp/left-by-a-crash'] })
  t.same(readdirSync(temp), [])
})

t.test('nothing is swept with uploadTimeout: 0 (no age is safe), nor on a staging storage (staged bytes wait there for a commit)', async (t) => {
  const dir = tempDir(t)
  const temp = join(dir, 'media', '.tmp')
  const staged = join(dir, 'staged', '.tmp')
  mkdirSync(temp, { recursive: true })
  mkdirSync(staged, { recursive: true })
  for (const file of [join(temp, 'old'), join(staged, 'old')]) {
    writeFileSync(file, 'x')
    setAge(file, HOUR)
  }
  await readyApp(t, dir, { uploadTimeout: 0 })
  t.same(readdirSync(temp), ['old'], 'uploadTimeout: 0')
  await readyApp(t, dir, { uploadTimeout: 1000, storages: { default: new Disk(new FileSystemDriver({ location: 'staged' }), { staged: true, baseUrl: '/media/' }) } })
  t.same(readdirSync(staged), ['old'], 'a staging storage')
})

t.test('a .tmp that is a link out of the root is not swept: the sweep fails, is logged, and the app starts', async (t) => {
  const dir = tempDir(t)
  const outside = join(dir, 'outside')
  mkdirSync(outside)
  mkdirSync(join(dir, 'media'))
  writeFileSync(join(outside, 'precious'), 'x')
  setAge(join(outside, 'precious'), HOUR)
  symlinkSync(outside, join(dir, 'media', '.tmp'))
  const { logs } = await readyApp(t, dir, { uploadTimeout: 1000 })
  t.same(readdirSync(outside), ['precious'])
  t.match(logs, [{ level: 50, storage: 'default', msg: 'fastify-media: sweeping scratch files failed', err: { code: 'FST_MEDIA_STORAGE' } }])
})

t.test('the sweep takes only old regular files: a directory in .tmp/ stays', async (t) => {
  const storage = new FileSystemStorage({ location: tempDir(t) })
  const temp = join(storage.location, '.tmp')
  mkdirSync(join(temp, 'a-directory'), { recursive: true })
  setAge(join(temp, 'a-directory'), HOUR)
  writeFileSync(join(temp, 'old'), 'x')
  setAge(join(temp, 'old'), HOUR)
  t.same(await storage.sweepScratch(1000), ['.tmp/old'])
  t.same(readdirSync(temp), ['a-directory'])
  t.same(await new FileSystemStorage({ location: tempDir(t) }).sweepScratch(1000), [], 'no .tmp/ yet: nothing to do')
})

t.test('two sweeps of one root at once (two processes) remove each old file once, and neither fails', async (t) => {
  const location = tempDir(t)
  const temp = join(location, '.tmp')
  mkdirSync(temp)
  // many files, so the second sweep lists names the first is removing (with one file, the first sweep could
  // be done before the second listed, and the second never met a file gone under it)
  const names = Array.from({ length: 100 }, (_, i) => `old-${String(i).padStart(3, '0')}`)
  for (const name of names) {
    writeFileSync(join(temp, name), 'x')
    setAge(join(temp, name), HOUR)
  }
  const swept = await Promise.all([new FileSystemStorage({ location }), new FileSystemStorage({ location })].map(async (storage) => await storage.sweepScratch(1000)))
  t.same(swept.flat().sort(), names.map((name) => `.tmp/${name}`), 'each file reported by exactly one sweep')
  t.same(readdirSync(temp), [])
})

t.test('the disk driver never removes a directory behind a link planted out of the root', async (t) => {
  const dir = tempDir(t)
  const { driver } = new FileSystemStorage({ location: join(dir, 'media') })
  mkdirSync(join(dir, 'media'))
  mkdirSync(join(dir, 'outside', 'empty'), { recursive: true })
  symlinkSync(join(dir, 'outside'), join(dir, 'media', 'docs'))
  await t.rejects(driver.removeDirectory('docs/empty'), /outside the storage root/)
  t.equal(await driver.removeDirectory('docs'), false, 'the link itself is no directory to remove')
  t.ok(existsSync(join(dir, 'outside', 'empty')))
})
