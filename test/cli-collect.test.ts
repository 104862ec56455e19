// The `fastify-media collectstatic` CLI run as a child process, as users run it: exit codes, stdout and
// stderr lines, and the tree it leaves in static.root (helpers in cli-run.ts).
import t from 'tap'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { brotliCompressSync, constants } from 'node:zlib'
import { filesUnder, type Tap } from './helpers.js'
import { BIN, copyProject, ROOT, run, duplicateLine, expectedFiles, ignoredByDefault, isVariant, lines, onProject, posix, PROJECT, PROJECT_APP, snapshot, summaryLine, withoutVariants } from './cli-run.js'

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

t.test('--brotli-quality N writes every .br at quality N', async (t) => {
  const project = copyProject(t)
  const root = join(project, 'staticfiles')
  const res = await onProject(project, ['collectstatic', PROJECT_APP, '--brotli-quality', '3'])
  t.equal(res.code, 0, res.stderr)
  const variants = filesUnder(root).filter((path) => path.endsWith('.br'))
  t.ok(variants.length > 0)
  for (const path of variants) {
    const content = readFileSync(join(root, path.slice(0, -3)))
    const expected = brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 3, [constants.BROTLI_PARAM_SIZE_HINT]: content.length } })
    t.ok(readFileSync(join(root, path)).equals(expected), `${path}: quality 3`)
  }
})

t.test('collectstatic usage errors exit 2 with the usage on stderr', async (t) => {
  const project = copyProject(t)
  const cases: Array<[string[], RegExp]> = [
    [['collectstatic', PROJECT_APP, '--frobnicate'], /Unknown option '--frobnicate'/],
    [['collectstatic', '--frobnicate', PROJECT_APP], /Unknown option '--frobnicate'/],
    [['collectstatic'], /collectstatic takes one <app-module>/],
    [['collectstatic', '--clear'], /collectstatic takes one <app-module>/],
    [['collectstatic', PROJECT_APP, 'extra'], /collectstatic takes one <app-module>/],
    [['collectstatic', PROJECT_APP, '--brotli-quality', '12'], /--brotli-quality takes an integer from 0 to 11, not "12"/],
    [['collectstatic', PROJECT_APP, '--brotli-quality', 'max'], /--brotli-quality takes an integer from 0 to 11, not "max"/]
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

/** collectstatic on the project under a shell's `umask 027`; the sources made 0644 first. */
async function underUmask027 (t: Tap, options: string) {
  const project = copyProject(t)
  for (const path of filesUnder(project)) chmodSync(join(project, path), 0o644)
  // the fixture's app with one more static option
  const app = join(project, 'app-mode.mjs')
  writeFileSync(app, `import fastifyMedia from ${JSON.stringify(join(ROOT, 'dist/index.js'))}
export default async function (fastify) {
  await fastify.register(fastifyMedia, { baseDir: ${JSON.stringify(project)}, static: { dirs: ['static-a', 'static-b'], ${options} }, media: false })
  fastify.media.addStaticDir('plugin-static', { prefix: 'plugin' })
}
`)
  const result = await run('sh', ['-c', 'umask 027 && exec "$@"', 'sh', process.execPath, BIN, 'collectstatic', app])
  t.equal(result.code, 0, result.stderr)
  const root = join(project, 'staticfiles')
  const modes = Object.fromEntries(posix(filesUnder(root)).map((path) => [path, (statSync(join(root, path)).mode & 0o777).toString(8)]))
  t.ok(Object.keys(modes).some(isVariant) && 'staticfiles.json' in modes && 'css/app.css' in modes, 'copies, hashed files, variants and the manifest all checked')
  t.equal(statSync(join(root, 'css')).mode & 0o777, 0o750, 'directories follow the umask')
  return modes
}

t.test('under umask 027, every file collectstatic writes follows the umask: copies, hashed files, variants, the manifest', async (t) => {
  const modes = await underUmask027(t, '')
  t.same(Object.entries(modes).filter(([, mode]) => mode !== '640'), [], 'all 0640 (the sources are 0644)')
})

t.test('static.fileMode sets every file\'s mode whatever the umask', async (t) => {
  const modes = await underUmask027(t, 'fileMode: 0o644')
  t.same(Object.entries(modes).filter(([, mode]) => mode !== '644'), [], 'all 0644 under umask 027')
})
