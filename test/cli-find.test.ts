// The `fastify-media` CLI as a child process: findstatic, how app modules load, that the CLI never listens
// and always exits, and what it draws on a terminal (helpers in cli-run.ts).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { tempDir } from './helpers.js'
import { appDir, appModule, BIN, cli, copyProject, expectedFiles, lines, onProject, PROJECT_APP, run, summaryLine, VERSION, type Run } from './cli-run.js'

t.before(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first`)
})

t.test('findstatic prints every dir holding the path, the winner first', async (t) => {
  const project = copyProject(t)
  const res = await onProject(project, ['findstatic', PROJECT_APP, 'img/logo.png'])
  t.comment(`findstatic: ${res.ms} ms`)
  t.equal(res.code, 0, res.stderr)
  t.equal(res.stderr, '')
  const out = lines(res.stdout)
  const a = join(project, 'static-a', 'img', 'logo.png')
  const b = join(project, 'static-b', 'img', 'logo.png')
  t.same(out, ["Found 'img/logo.png' here:", `  ${a}`, `  ${b}`])
  t.ok(out.slice(1).every((line) => isAbsolute(line.trim())), 'absolute paths')

  const plugin = await onProject(project, ['findstatic', PROJECT_APP, 'plugin/widget/widget.css'])
  t.equal(plugin.code, 0, plugin.stderr)
  t.same(lines(plugin.stdout), ["Found 'plugin/widget/widget.css' here:", `  ${join(project, 'plugin-static', 'widget', 'widget.css')}`], 'under its prefix')
})

t.test('findstatic exits 1 when no dir holds the path', async (t) => {
  const project = copyProject(t)
  const res = await onProject(project, ['findstatic', PROJECT_APP, 'nope.css'])
  t.equal(res.code, 1)
  t.equal(res.stdout, '')
  t.same(lines(res.stderr), ["No matching file found for 'nope.css'."])
  // files that exist but are ignored, and paths out of the dirs, are not found either
  for (const path of ['css/app.css~', '.env', 'CVS/Entries', '../app.mjs', 'static-a/img/logo.png']) {
    const other = await onProject(project, ['findstatic', PROJECT_APP, path])
    t.equal(other.code, 1, path)
    t.match(other.stderr, 'No matching file found for')
    t.equal(other.stdout, '')
  }
})

t.test('findstatic with the wrong number of arguments exits 2', async (t) => {
  const project = copyProject(t)
  for (const args of [['findstatic'], ['findstatic', PROJECT_APP], ['findstatic', PROJECT_APP, 'a.css', 'b.css'], ['findstatic', PROJECT_APP, 'img/logo.png', '--all']]) {
    const res = await onProject(project, args)
    t.equal(res.code, 2, args.join(' '))
    t.match(res.stderr, /Usage: fastify-media <command>/)
    t.equal(res.stdout, '')
  }
})

t.test('app modules load like fastify-cli: factories and plugins', async (t) => {
  for (const name of ['factory.mjs', 'async-factory.mjs', 'fp-plugin.mjs', 'callback-plugin.mjs']) {
    const dir = appDir(t)
    const res = await cli(['collectstatic', appModule(name)], { CLI_APP_DIR: dir })
    t.equal(res.code, 0, `${name}: ${res.stderr}`)
    t.equal(res.stderr, '')
    t.same(lines(res.stdout), [summaryLine(2, 0, 2)], name)
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'staticfiles.json'), 'utf8')) as { paths: Record<string, string> }
    t.same(Object.keys(manifest.paths).sort(), ['css/site.css', 'img/dot.png'], name)

    const found = await cli(['findstatic', appModule(name), 'css/site.css'], { CLI_APP_DIR: dir })
    t.equal(found.code, 0, `${name}: ${found.stderr}`)
    t.same(lines(found.stdout), ["Found 'css/site.css' here:", `  ${join(dir, 'static', 'css', 'site.css')}`], name)
  }
})

t.test('app modules that cannot be used exit 1 with a clear message', async (t) => {
  const dir = appDir(t)
  const cases: Array<[string, RegExp]> = [
    ['no-media.mjs', /the app does not register fastify-media/],
    ['throws.mjs', /cannot load .*throws\.mjs.*boom while importing/],
    ['no-default.mjs', /no-default\.mjs made no app with fastify-media and has no default export: write it like the Quick start/],
    ['not-an-app.mjs', /not-an-app\.mjs.*should return a Fastify app/],
    ['missing.mjs', /cannot load .*missing\.mjs/],
    ['static-off.mjs', /static files are turned off/],
    ['bad-options.mjs', /static\.url/]
  ]
  for (const [name, message] of cases) {
    for (const args of [['collectstatic', appModule(name)], ['findstatic', appModule(name), 'css/site.css']]) {
      const res = await cli(args, { CLI_APP_DIR: dir })
      t.notOk(res.timedOut, name)
      t.equal(res.code, 1, `${args[0]} ${name}`)
      t.equal(res.stdout, '')
      t.match(res.stderr, /^fastify-media: /)
      t.match(res.stderr, message, `${args[0]} ${name}`)
      t.notMatch(res.stderr, /^\s+at /m, 'a message, not a stack trace')
    }
  }
  t.notOk(existsSync(join(dir, 'out')), 'nothing collected')
})

t.test('the CLI never listens, closes the app and exits by itself', async (t) => {
  const server = appModule('server.mjs')

  // the markers work: run as the main module, the server listens (on 127.0.0.1, port 0) and closes
  const control = appDir(t)
  const main = await run(process.execPath, [server], { env: { CLI_APP_DIR: control } })
  t.equal(main.code, 0, main.stderr)
  t.ok(Number(readFileSync(join(control, 'listened'), 'utf8')) > 0, 'onListen wrote the port')
  t.ok(existsSync(join(control, 'closed')))

  for (const args of [['collectstatic', server], ['findstatic', server, 'css/site.css']]) {
    const dir = appDir(t)
    const res = await run(process.execPath, [BIN, ...args], { env: { CLI_APP_DIR: dir }, timeout: 20_000 })
    t.comment(`${args[0]} on a server module: ${res.ms} ms`)
    t.notOk(res.timedOut, `${args[0]} exits by itself`)
    t.equal(res.code, 0, `${args[0]}: ${res.stderr}`)
    t.notOk(existsSync(join(dir, 'listened')), `${args[0]}: no port opened (onListen never ran)`)
    t.ok(existsSync(join(dir, 'closed')), `${args[0]}: the app was closed`)
  }
})

t.test('an app that fails while starting is closed, so the CLI exits', async (t) => {
  const dir = appDir(t)
  const res = await run(process.execPath, [BIN, 'collectstatic', appModule('fails-ready.mjs')], { env: { CLI_APP_DIR: dir }, timeout: 20_000 })
  t.notOk(res.timedOut, 'exits by itself')
  t.equal(res.code, 1)
  t.match(res.stderr, /^fastify-media: db down/)
})

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0
const onTerminal = async (project: string, shell: string, env: Record<string, string> = {}): Promise<Run> =>
  await run('script', ['-qec', shell, '/dev/null'], { env: { STATIC_PROJECT_DIR: project, NODE: process.execPath, BIN, APP: PROJECT_APP, ...env } })
const FRAME = /\r\[[#.]{30}\] (\d+)\/(\d+)/g

t.test('on a TTY the progress bar is drawn', { skip: hasScript ? false : 'needs script(1)' }, async (t) => {
  const project = copyProject(t)
  const n = expectedFiles(project).paths.length
  const out = join(project, 'stdout.txt')
  // only stderr on the terminal
  const res = await onTerminal(project, '"$NODE" "$BIN" collectstatic "$APP" > "$OUT"', { OUT: out })
  t.equal(res.code, 0, 'exit 0')
  t.equal(lines(readFileSync(out, 'utf8')).at(-1), summaryLine(n, 0, n))
  const frames = [...res.stdout.matchAll(FRAME)]
  t.same(frames.map((m) => `${m[1]}/${m[2]}`), Array.from({ length: 2 * n }, (_, i) => `${i + 1}/${2 * n}`), 'one frame per step, copy and post-process')
  t.match(res.stdout, `\r[${'#'.repeat(30)}] ${2 * n}/${2 * n}`, 'the last frame is full')
})

t.test('on a terminal, output lines are not glued to the progress bar', { skip: hasScript ? false : 'needs script(1)' }, async (t) => {
  const project = copyProject(t)
  const n = expectedFiles(project).paths.length
  const res = await onTerminal(project, '"$NODE" "$BIN" collectstatic "$APP"')
  t.equal(res.code, 0, 'exit 0')
  t.ok(res.stdout.includes(summaryLine(n, 0, n)), 'the summary')
  // a frame is followed by the next frame (\r) or the end of its line, never by other text
  const glued = /\] \d+\/\d+(?=[^\d\r\n])(.{0,40})/.exec(res.stdout)
  t.equal(glued?.[0], undefined, 'the line after the last frame starts on a line of its own')
})

t.test('on a terminal, a command without a progress bar prints no extra blank line', { skip: hasScript ? false : 'needs script(1)' }, async (t) => {
  const res = await onTerminal(tempDir(t), '"$NODE" "$BIN" --version')
  t.equal(res.code, 0)
  t.equal(res.stdout, `${VERSION}\r\n`)
})
