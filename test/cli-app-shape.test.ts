// The CLI on the usual server module (top-level register, routes, `await app.listen()`), as a child process:
// it works, opens no port, needs no signingKey, exits by itself, and cuts a module that never settles.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { appDir, appModule, BIN, cli, lines, ROOT, run, summaryLine } from './cli-run.js'

t.before(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first`)
})

// The acceptance bound: a CLI run that has not ended by then is killed and counts as hanging.
const BOUND = 10_000

/** A port free right now on 127.0.0.1: bound on port 0, then released. */
async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** Whether a connection to 127.0.0.1:port is refused (nothing listens there). */
async function refused (port: number): Promise<boolean> {
  const socket = createConnection(port, '127.0.0.1')
  const event = await new Promise((resolve) => {
    socket.once('connect', () => resolve('connect'))
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code))
  })
  socket.destroy()
  return event === 'ECONNREFUSED'
}

/** Whether the port can be bound again (no process of ours kept it). */
async function bindable (port: number): Promise<boolean> {
  const server = createServer()
  const event = await new Promise((resolve) => {
    server.once('listening', () => resolve('listening'))
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code))
    server.listen(port, '127.0.0.1')
  })
  if (event === 'listening') {
    server.close()
    await once(server, 'close')
  }
  return event === 'listening'
}

const shell = (args: string[], env: Record<string, string>) => run(process.execPath, [BIN, ...args], { env, timeout: BOUND })

t.test('run directly, the Quick start fixture listens on its port (the control for the tests below)', async (t) => {
  const dir = appDir(t)
  const port = await freePort()
  const child = spawn(process.execPath, [appModule('quick-start.mjs')], { cwd: ROOT, env: { ...process.env, CLI_APP_DIR: dir, CLI_APP_PORT: String(port), MEDIA_SIGNING_KEY: 'k'.repeat(32) }, stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const [line] = await once(createInterface({ input: child.stdout }), 'line')
  t.equal(line, `listening at http://127.0.0.1:${port}`)
  t.notOk(await refused(port), 'it accepts connections')
  child.kill('SIGKILL')
  await once(child, 'exit')
})

t.test('collectstatic and findstatic on the Quick start shape: they work, listen nowhere, close the app and exit', async (t) => {
  for (const signingKey of [{ MEDIA_SIGNING_KEY: 'k'.repeat(32) }, {}] as Array<Record<string, string>>) {
    const dir = appDir(t)
    const port = await freePort()
    const env = { CLI_APP_DIR: dir, CLI_APP_PORT: String(port), ...signingKey }
    const label = signingKey.MEDIA_SIGNING_KEY === undefined ? 'no signingKey, a private storage' : 'with a signingKey'

    const collected = await shell(['collectstatic', appModule('quick-start.mjs')], env)
    t.comment(`collectstatic on the Quick start shape (${label}): ${collected.ms} ms`)
    t.notOk(collected.timedOut, `collectstatic ends by itself (${label})`)
    t.equal(collected.code, 0, collected.stderr)
    t.same(lines(collected.stdout), ['listening at (not listening: fastify-media collectstatic)', summaryLine(2, 0, 2)],
      'listen() resolved with an address saying it does not listen, then the summary')
    t.same(Object.keys(JSON.parse(readFileSync(join(dir, 'out', 'staticfiles.json'), 'utf8')).paths).sort(), ['css/site.css', 'img/dot.png'])
    t.ok(existsSync(join(dir, 'closed')), 'the app was closed (its onClose hooks ran)')
    t.ok(await refused(port), 'nothing listens on the port the module asked for')
    t.ok(await bindable(port), 'and the port is free')

    const found = await shell(['findstatic', appModule('quick-start.mjs'), 'css/site.css'], env)
    t.notOk(found.timedOut, `findstatic ends by itself (${label})`)
    t.equal(found.code, 0, found.stderr)
    t.same(lines(found.stdout), ['listening at (not listening: fastify-media findstatic)', "Found 'css/site.css' here:", `  ${join(dir, 'static', 'css', 'site.css')}`])
    t.ok(await bindable(port), 'the port is free after findstatic too')
  }
})

t.test('other top-level shapes: register without await, listen with a callback, an un-awaited start(), a top level that waits after listen, one that never listens', async (t) => {
  for (const name of ['getting-started.mjs', 'listen-callback.mjs', 'start-function.mjs', 'listen-then-wait.mjs', 'top-level-ready.mjs']) {
    const dir = appDir(t)
    const port = await freePort()
    const res = await shell(['collectstatic', appModule(name)], { CLI_APP_DIR: dir, CLI_APP_PORT: String(port) })
    t.notOk(res.timedOut, `${name}: ends by itself`)
    t.equal(res.code, 0, `${name}: ${res.stderr}`)
    t.same(lines(res.stdout), [summaryLine(2, 0, 2)], name)
    t.ok(await bindable(port), `${name}: the port is free`)
  }
})

t.test('a module that closed one of its two apps: the CLI uses the open one (a closed app is forgotten)', async (t) => {
  const dir = appDir(t)
  const res = await shell(['collectstatic', appModule('closes-a-probe.mjs')], { CLI_APP_DIR: dir })
  t.notOk(res.timedOut)
  t.equal(res.code, 0, res.stderr)
  t.same(lines(res.stdout), [summaryLine(2, 0, 2)])
  t.ok(existsSync(join(dir, 'out', 'css', 'site.css')), 'collected into the open app\'s static.root')
  t.notOk(existsSync(join(dir, 'probe-out')), 'not into the closed app\'s')
})

t.test('a module whose top level never settles: a clear error once --timeout (default 5 s) has passed, then exit 1', async (t) => {
  const dir = appDir(t)
  const cut = await shell(['collectstatic', appModule('never-settles.mjs'), '--timeout', '500'], { CLI_APP_DIR: dir })
  t.notOk(cut.timedOut)
  t.equal(cut.code, 1)
  t.equal(cut.stdout, '')
  t.match(cut.stderr, /^fastify-media: .*never-settles\.mjs: the app was not ready within 500 ms \(a top-level await that never settles\?\); raise --timeout if it is only slow/)
  t.notOk(existsSync(join(dir, 'out')), 'nothing collected')

  const byDefault = await shell(['findstatic', appModule('never-settles.mjs'), 'css/site.css'], { CLI_APP_DIR: dir })
  t.comment(`findstatic on a module that never settles, default timeout: ${byDefault.ms} ms`)
  t.notOk(byDefault.timedOut, `ended within ${BOUND} ms`)
  t.equal(byDefault.code, 1)
  t.match(byDefault.stderr, /not ready within 5000 ms/)
})

t.test('--timeout must be a positive number of milliseconds', async (t) => {
  for (const value of ['0', '-1', 'soon', '1.5']) {
    const res = await cli(['collectstatic', appModule('quick-start.mjs'), `--timeout=${value}`])
    t.equal(res.code, 2, value)
    t.match(res.stderr, `--timeout takes a number of milliseconds, not "${value}"`)
  }
})

t.test('an app whose onClose never finishes does not keep the CLI alive', async (t) => {
  const dir = appDir(t)
  // 5 s of waiting for the close are part of this run: not held to the 10 s bound on a loaded machine
  const res = await run(process.execPath, [BIN, 'collectstatic', appModule('hangs-close.mjs')], { env: { CLI_APP_DIR: dir } })
  t.notOk(res.timedOut)
  t.equal(res.code, 0, res.stderr)
  t.same(lines(res.stdout), [summaryLine(2, 0, 2)])
})
