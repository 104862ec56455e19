// The `fastify-media` CLI's collectstatic and findstatic, run as a child process (`node dist/bin.js`), as
// users run it: exit codes, stdout and stderr lines, and the tree it leaves in static.root. The fixture
// project is copied to a temp dir and its app.mjs run in place with STATIC_PROJECT_DIR pointing at the copy;
// the small apps of test/fixtures/cli-apps take their baseDir from CLI_APP_DIR.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, sep } from 'node:path'
import { filesUnder, FIXTURES, tempDir, type Tap } from './helpers.js'

const ROOT = join(import.meta.dirname, '..')
const BIN = join(ROOT, 'dist', 'bin.js')
const PROJECT = join(FIXTURES, 'static-project')
// relative to ROOT, the cwd of every child: the CLI resolves the module path against its cwd
const PROJECT_APP = join('test', 'fixtures', 'static-project', 'app.mjs')
const CLI_APPS = join(FIXTURES, 'cli-apps')
const TIMEOUT = 30_000

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
  ms: number
}

/**
 * Runs a command in its own process group with a hard timeout (the whole group is killed when it expires),
 * collecting stdout and stderr. stdin is /dev/null and stdout/stderr are pipes: not a TTY.
 */
async function run (command: string, args: string[], { env = {}, timeout = TIMEOUT }: { env?: Record<string, string>, timeout?: number } = {}): Promise<Run> {
  return await new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
    }, timeout)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, timedOut, ms: Math.round(performance.now() - started) })
    })
  })
}

/** `fastify-media <args>` on the fixture project copied to `project`. */
const cli = async (args: string[], env: Record<string, string> = {}): Promise<Run> => await run(process.execPath, [BIN, ...args], { env })
const onProject = async (project: string, args: string[]): Promise<Run> => await cli(args, { STATIC_PROJECT_DIR: project })
const lines = (text: string): string[] => text === '' ? [] : text.replace(/\n$/, '').split('\n')

/** A temp copy of the fixture project, removed when the test ends. */
function copyProject (t: Tap): string {
  const dir = tempDir(t)
  cpSync(PROJECT, dir, { recursive: true })
  return dir
}

// What app.mjs configures: static.dirs static-a then static-b, and plugin-static added under `plugin`.
const STATIC_DIRS = [{ prefix: '', dir: 'static-a' }, { prefix: '', dir: 'static-b' }, { prefix: 'plugin', dir: 'plugin-static' }]
// Django's default ignore patterns `.*`, `*~` and `CVS`, tried on every segment
const ignoredByDefault = (path: string): boolean => path.split('/').some((s) => s.startsWith('.') || s.endsWith('~') || s === 'CVS')

/**
 * What collectstatic should find in a pristine copy of the fixture, worked out from the tree itself: the
 * winning paths (sorted) with their sources, and the paths that lose to an earlier dir with that dir.
 */
function expectedFiles (project: string, leaveOut: (path: string) => boolean = () => false) {
  const winners = new Map<string, string>()
  const shadowed: Array<{ path: string, dir: string }> = []
  for (const { prefix, dir } of STATIC_DIRS) {
    for (const relative of filesUnder(join(project, dir))) {
      const path = (prefix === '' ? '' : `${prefix}/`) + relative.split(sep).join('/')
      if (ignoredByDefault(path) || leaveOut(path)) continue
      if (winners.has(path)) shadowed.push({ path, dir: join(project, dir) })
      else winners.set(path, join(project, dir, relative))
    }
  }
  return { paths: [...winners.keys()].sort(), sources: winners, shadowed }
}

const duplicateLine = ({ path, dir }: { path: string, dir: string }): string =>
  `Found another file with the destination path '${path}' in ${dir}. It will be ignored since only the first encountered file is collected.`
const summaryLine = (copied: number, unmodified: number, postProcessed: number): string =>
  `${copied} copied, ${unmodified} unmodified, ${postProcessed} post-processed`

/** path -> size and mtime of every file under a dir, to prove a run wrote nothing. */
function snapshot (dir: string): Record<string, string> {
  return Object.fromEntries(filesUnder(dir).map((path) => {
    const info = statSync(join(dir, path))
    return [path, `${info.size}@${info.mtimeMs}`]
  }))
}

const isVariant = (path: string): boolean => /\.(br|gz)$/.test(path)
const withoutVariants = (paths: string[]): string[] => paths.filter((path) => !isVariant(path))
const posix = (paths: string[]): string[] => paths.map((path) => path.split(sep).join('/'))

t.before(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first`)
})

t.test('the fixture has what these tests rely on', async (t) => {
  const { paths, shadowed } = expectedFiles(PROJECT)
  t.ok(paths.length > 0)
  t.same(shadowed.map((file) => file.path), ['img/logo.png'], 'img/logo.png of static-b loses to static-a')
  t.ok(paths.some((path) => path.endsWith('.map')) && paths.some((path) => path.startsWith('img/')), 'maps and images to ignore')
})

t.test('collectstatic fills static.root and ends with the summary; a second run changes nothing', async (t) => {
  const project = copyProject(t)
  const root = join(project, 'staticfiles')
  const { paths, sources, shadowed } = expectedFiles(project)
  const n = paths.length

  const first = await onProject(project, ['collectstatic', PROJECT_APP])
  t.comment(`first run: ${first.ms} ms`)
  t.notOk(first.timedOut)
  t.equal(first.code, 0, first.stderr)
  t.equal(first.stderr, '', 'nothing on stderr (and so no \\r: no progress bar off a TTY)')
  t.notMatch(first.stdout, /\r/)
  t.same(lines(first.stdout), [...shadowed.map(duplicateLine), summaryLine(n, 0, n)])
  t.ok(lines(first.stdout).includes(duplicateLine({ path: 'img/logo.png', dir: join(project, 'static-b') })))

  // every found file under its own name, the winner's bytes
  const written = posix(filesUnder(root))
  for (const path of paths) {
    t.ok(written.includes(path), `${path} copied`)
    t.same(readFileSync(join(root, path)), readFileSync(sources.get(path)!), `${path} is the winner's copy`)
  }
  t.same(readFileSync(join(root, 'img/logo.png')), readFileSync(join(project, 'static-a/img/logo.png')), 'static-a wins img/logo.png')
  t.notOk(written.some(ignoredByDefault), 'no dotfile, backup or CVS dir collected')

  // the manifest: every path, to `name.<12 hex of md5 of the content>.ext`
  const manifest = JSON.parse(readFileSync(join(root, 'staticfiles.json'), 'utf8')) as { version: unknown, paths: Record<string, string> }
  t.ok(manifest.version !== undefined)
  t.same(Object.keys(manifest.paths).sort(), paths)
  for (const [path, hashed] of Object.entries(manifest.paths)) {
    const name = basename(path)
    const dot = name.lastIndexOf('.')
    const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, '']
    const match = /^\.([0-9a-f]{12})$/.exec(basename(hashed).slice(stem.length, basename(hashed).length - ext.length))
    t.ok(basename(hashed).startsWith(stem) && basename(hashed).endsWith(ext) && match !== null && dirname(hashed) === dirname(path), `${path} -> ${hashed}`)
    t.ok(written.includes(hashed), `${hashed} written`)
    t.equal(createHash('md5').update(readFileSync(join(root, hashed))).digest('hex').slice(0, 12), match?.[1], `${hashed}: md5 of its content`)
  }
  // nothing else: the files, their hashed names, the manifest, and .br/.gz next to them
  const expected = new Set([...paths, ...Object.values(manifest.paths), 'staticfiles.json'])
  t.same(written.filter((path) => !expected.has(isVariant(path) ? path.slice(0, -3) : path)), [], 'nothing unexpected in static.root')
  t.ok(written.some(isVariant), 'compressed variants written')

  const before = snapshot(root)
  const second = await onProject(project, ['collectstatic', PROJECT_APP])
  t.comment(`second run: ${second.ms} ms`)
  t.equal(second.code, 0, second.stderr)
  t.equal(second.stderr, '')
  t.same(lines(second.stdout), [...shadowed.map(duplicateLine), summaryLine(0, n, 0)])
  t.same(snapshot(root), before, 'the second run wrote nothing')
})

t.test('--dry-run says what would be done and writes nothing', async (t) => {
  const project = copyProject(t)
  const root = join(project, 'staticfiles')
  const { paths, shadowed } = expectedFiles(project)
  const n = paths.length

  const dry = await onProject(project, ['collectstatic', PROJECT_APP, '--dry-run'])
  t.equal(dry.code, 0, dry.stderr)
  t.equal(dry.stderr, '')
  const out = lines(dry.stdout)
  t.ok(out.some((line) => line.startsWith('Pretending')), 'a line starts with Pretending')
  t.same(out, [...shadowed.map(duplicateLine), `Pretending: ${summaryLine(n, 0, n)}`])
  t.notOk(existsSync(root), 'static.root not created')
  t.same(filesUnder(project), filesUnder(PROJECT), 'nothing written anywhere in the project')

  // after a real run, --dry-run --clear neither clears nor writes
  t.equal((await onProject(project, ['collectstatic', PROJECT_APP])).code, 0)
  const before = snapshot(root)
  const again = await onProject(project, ['collectstatic', PROJECT_APP, '--dry-run', '--clear'])
  t.equal(again.code, 0, again.stderr)
  t.equal(lines(again.stdout).at(-1), `Pretending: ${summaryLine(n, 0, n)}`, 'as a real --clear would: everything again')
  t.same(snapshot(root), before, 'static.root untouched')
})

t.test('--clear empties static.root first', async (t) => {
  const project = copyProject(t)
  const root = join(project, 'staticfiles')
  const n = expectedFiles(project).paths.length
  t.equal((await onProject(project, ['collectstatic', PROJECT_APP])).code, 0)
  const collected = filesUnder(root)
  mkdirSync(join(root, 'old'))
  writeFileSync(join(root, 'old', 'gone.css'), 'a {}')
  writeFileSync(join(root, 'stale.txt'), 'stale')

  const keep = await onProject(project, ['collectstatic', PROJECT_APP])
  t.equal(keep.code, 0, keep.stderr)
  t.equal(lines(keep.stdout).at(-1), summaryLine(0, n, 0))
  t.ok(existsSync(join(root, 'stale.txt')), 'without --clear, other files stay')

  const clear = await onProject(project, ['collectstatic', PROJECT_APP, '--clear'])
  t.equal(clear.code, 0, clear.stderr)
  t.equal(lines(clear.stdout).at(-1), summaryLine(n, 0, n), 'everything collected again')
  t.same(filesUnder(root), collected, 'exactly what a first run writes: the stale files are gone')
})

t.test('--ignore is repeatable and leaves matching paths out', async (t) => {
  const project = copyProject(t)
  const root = join(project, 'staticfiles')
  // without post-processing: the CSS references images and maps, which would be missing otherwise
  const { paths } = expectedFiles(project, (path) => path.endsWith('.map') || /^img\/[^/]+$/.test(path))
  const res = await onProject(project, ['collectstatic', PROJECT_APP, '--ignore', '*.map', '--ignore', 'img/*', '--no-post-process'])
  t.equal(res.code, 0, res.stderr)
  t.equal(lines(res.stdout).at(-1), summaryLine(paths.length, 0, 0))
  const written = withoutVariants(posix(filesUnder(root)))
  t.same(written, paths)
  t.notOk(written.some((path) => path.endsWith('.map')), 'no map')
  t.notOk(written.some((path) => path.startsWith('img/')), 'no image of img/')

  // with post-processing, and the --ignore=<glob> form
  const other = copyProject(t)
  const kept = expectedFiles(other, (path) => path === 'js/vendor.js' || path.startsWith('plugin/')).paths
  const post = await onProject(other, ['collectstatic', PROJECT_APP, '--ignore=vendor.js', '--ignore', 'plugin/**'])
  t.equal(post.code, 0, post.stderr)
  t.equal(lines(post.stdout).at(-1), summaryLine(kept.length, 0, kept.length))
  const manifest = JSON.parse(readFileSync(join(other, 'staticfiles', 'staticfiles.json'), 'utf8')) as { paths: Record<string, string> }
  t.same(Object.keys(manifest.paths).sort(), kept)
})

t.test('--no-post-process copies only: no hashed names, no manifest', async (t) => {
  const project = copyProject(t)
  const root = join(project, 'staticfiles')
  const { paths, shadowed } = expectedFiles(project)
  const res = await onProject(project, ['collectstatic', PROJECT_APP, '--no-post-process'])
  t.equal(res.code, 0, res.stderr)
  t.same(lines(res.stdout), [...shadowed.map(duplicateLine), summaryLine(paths.length, 0, 0)])
  t.notOk(existsSync(join(root, 'staticfiles.json')), 'no staticfiles.json')
  t.same(withoutVariants(posix(filesUnder(root))), paths, 'the files under their own names only')
})

t.test('--no-compress writes no .br or .gz', async (t) => {
  const project = copyProject(t)
  const root = join(project, 'staticfiles')
  const n = expectedFiles(project).paths.length
  const res = await onProject(project, ['collectstatic', PROJECT_APP, '--no-compress'])
  t.equal(res.code, 0, res.stderr)
  t.equal(lines(res.stdout).at(-1), summaryLine(n, 0, n))
  t.ok(existsSync(join(root, 'staticfiles.json')))
  t.same(filesUnder(root).filter(isVariant), [], 'no compressed variant')
  t.equal(filesUnder(root).length, 2 * n + 1, 'the files, their hashed names and the manifest')
})

t.test('collectstatic usage errors exit 2 with the usage on stderr', async (t) => {
  const project = copyProject(t)
  const cases: Array<[string[], RegExp]> = [
    [['collectstatic', PROJECT_APP, '--frobnicate'], /Unknown option '--frobnicate'/],
    [['collectstatic', '--frobnicate', PROJECT_APP], /Unknown option '--frobnicate'/],
    [['collectstatic'], /collectstatic takes one <app-module>/],
    [['collectstatic', '--clear'], /collectstatic takes one <app-module>/],
    [['collectstatic', PROJECT_APP, 'extra'], /collectstatic takes one <app-module>/]
  ]
  for (const [args, message] of cases) {
    const res = await onProject(project, args)
    t.equal(res.code, 2, args.join(' '))
    t.match(res.stderr, message)
    t.match(res.stderr, /Usage: fastify-media <command>/)
    t.equal(res.stdout, '')
  }
  t.notOk(existsSync(join(project, 'staticfiles')), 'nothing collected')
})

t.test('a flag missing its value, or given one it does not take, is a usage error too (exit 2)', async (t) => {
  const project = copyProject(t)
  for (const args of [['collectstatic', PROJECT_APP, '--ignore'], ['collectstatic', PROJECT_APP, '--clear=yes']]) {
    const res = await onProject(project, args)
    t.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`)
    t.match(res.stderr, /Usage: fastify-media <command>/)
  }
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

/** A temp CLI_APP_DIR with a static dir of two files, the CSS referencing the image. */
function appDir (t: Tap): string {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'static', 'css'), { recursive: true })
  mkdirSync(join(dir, 'static', 'img'))
  writeFileSync(join(dir, 'static', 'css', 'site.css'), 'body { background: url(../img/dot.png); }\n')
  writeFileSync(join(dir, 'static', 'img', 'dot.png'), readFileSync(join(FIXTURES, 'fixture.png')))
  return dir
}
const appModule = (name: string): string => join(CLI_APPS, name)

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
    ['no-default.mjs', /no-default\.mjs has no default export/],
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

t.test('a CSS file referencing a missing file: exit 1 naming both files', async (t) => {
  const project = copyProject(t)
  writeFileSync(join(project, 'static-a', 'css', 'broken.css'), '.x { background: url(../img/missing.png); }\n')
  const res = await onProject(project, ['collectstatic', PROJECT_APP])
  t.notOk(res.timedOut)
  t.equal(res.code, 1)
  t.equal(res.stdout, '', 'no summary')
  t.equal(lines(res.stderr).length, 1, 'one line')
  t.match(res.stderr, /^fastify-media: /)
  t.match(res.stderr, 'css/broken.css')
  t.match(res.stderr, 'missing.png')
  t.notMatch(res.stderr, /^\s+at /m, 'not a crash')
  t.notOk(existsSync(join(project, 'staticfiles', 'staticfiles.json')), 'no manifest')
})

t.test('symlinks leading out of a static dir are not collected', async (t) => {
  const project = copyProject(t)
  const root = join(project, 'staticfiles')
  const n = expectedFiles(project).paths.length
  mkdirSync(join(project, 'outside'))
  writeFileSync(join(project, 'outside', 'secret.txt'), 'secret outside the static dirs')
  symlinkSync('../outside/secret.txt', join(project, 'static-a', 'leak.txt'))
  symlinkSync(join(project, 'outside'), join(project, 'static-a', 'leakdir'))
  symlinkSync('../../static-a/js/app.js', join(project, 'static-b', 'js', 'up.js')) // another static dir is outside too
  symlinkSync('logo.png', join(project, 'static-a', 'img', 'alias.png')) // inside: followed

  const res = await onProject(project, ['collectstatic', PROJECT_APP])
  t.equal(res.code, 0, res.stderr)
  t.equal(lines(res.stdout).at(-1), summaryLine(n + 1, 0, n + 1))
  const written = posix(filesUnder(root))
  t.notOk(written.some((path) => /leak|secret|up\./.test(path)), 'nothing through the outward links')
  t.notOk(written.some((path) => readFileSync(join(root, path)).includes('secret outside')), 'the secret is in no file')
  t.ok(written.includes('img/alias.png'), 'a link inside the dir is followed')

  for (const path of ['leak.txt', 'leakdir/secret.txt', 'js/up.js']) {
    const found = await onProject(project, ['findstatic', PROJECT_APP, path])
    t.equal(found.code, 1, `findstatic ${path}`)
  }
})

t.test('a symlink cycle inside a static dir is not followed round and round', async (t) => {
  const project = copyProject(t)
  const root = join(project, 'staticfiles')
  symlinkSync('..', join(project, 'static-a', 'css', 'loop')) // css/loop -> static-a
  const res = await onProject(project, ['collectstatic', PROJECT_APP])
  t.notOk(res.timedOut)
  t.equal(res.code, 0, res.stderr)
  t.comment(lines(res.stdout).at(-1))
  const looped = posix(filesUnder(root)).filter((path) => /loop\/.*loop\//.test(path))
  t.same(looped.slice(0, 3), [], `no path through the cycle twice (${looped.length} such files written)`)
})

// `script` (util-linux) runs the CLI on a pseudo-terminal
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
