import t from 'tap'
import Fastify from 'fastify'
import { createHash } from 'node:crypto'
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { setImmediate } from 'node:timers/promises'
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib'
import fastifyMedia from '../lib/index.js'
import { FIXTURES, filesUnder, tempDir, type Tap } from './helpers.js'

// Every file the fixture project collects, and where the winning copy comes from.
const SOURCES: Record<string, string> = {
  'css/app.css': 'static-a/css/app.css',
  'css/app.css.map': 'static-a/css/app.css.map',
  'css/base.css': 'static-a/css/base.css',
  'css/theme/dark.css': 'static-a/css/theme/dark.css',
  'fonts/icons.eot': 'static-a/fonts/icons.eot',
  'fonts/icons.woff2': 'static-a/fonts/icons.woff2',
  'img/hero.png': 'static-a/img/hero.png',
  'img/icons.svg': 'static-a/img/icons.svg',
  'img/logo.png': 'static-a/img/logo.png',
  'js/app.js': 'static-a/js/app.js',
  'js/app.js.map': 'static-a/js/app.js.map',
  'js/vendor.js': 'static-b/js/vendor.js',
  'plugin/widget/widget.css': 'plugin-static/widget/widget.css',
  'plugin/widget/widget.png': 'plugin-static/widget/widget.png'
}
const COLLECTED = Object.keys(SOURCES).sort()
const TEXT = /\.(css|js|map|svg|eot)$/
const INCOMPRESSIBLE = /\.(png|woff2)$/
const isVariant = (path: string): boolean => /\.(br|gz)$/.test(path)

const md5 = (content: Buffer | string): string => createHash('md5').update(content).digest('hex').slice(0, 12)

/** The name the design gives a path with this final content: the hash before the last extension. */
function expectedHashedName (path: string, content: Buffer): string {
  const slash = path.lastIndexOf('/')
  const dot = path.lastIndexOf('.')
  return dot > slash + 1 ? `${path.slice(0, dot)}.${md5(content)}${path.slice(dot)}` : `${path}.${md5(content)}`
}

/**
 * Returns once the file system's clock has moved past every time stamp under `root`: a file written after
 * this cannot keep its old mtime or ctime, however fast it is rewritten in place (the kernel stamps files
 * from a coarse clock, one tick every few ms). There is no event for a clock tick, so a probe file in a
 * temp dir is touched until its own stamp is newer, yielding to the event loop between tries.
 */
async function afterFileClockTick (t: Tap, root: string): Promise<void> {
  let newest = 0n
  for (const path of filesUnder(root)) {
    const { mtimeNs, ctimeNs } = statSync(join(root, path), { bigint: true })
    for (const stamp of [mtimeNs, ctimeNs]) if (stamp > newest) newest = stamp
  }
  const probe = join(tempDir(t), 'probe')
  for (;;) {
    writeFileSync(probe, '')
    if (statSync(probe, { bigint: true }).mtimeNs > newest) return
    await setImmediate()
  }
}

/** A copy of the fixture project in a temp dir, with the plugin registered on it as a user would. */
async function project (t: Tap, { mode, dir }: { mode?: 'development' | 'production', dir?: string } = {}) {
  if (dir === undefined) {
    dir = tempDir(t)
    cpSync(join(FIXTURES, 'static-project'), dir, { recursive: true })
  }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: { dirs: ['static-a', 'static-b'] }, media: false, ...(mode === undefined ? {} : { mode }) })
  app.media.addStaticDir('plugin-static', { prefix: 'plugin' })
  return { app, dir, root: join(dir, 'staticfiles') }
}

/** Every file under static.root with its mtime and ctime (ns), inode and size. */
function snapshot (root: string): { mtimes: Record<string, bigint>, changes: Record<string, string> } {
  const mtimes: Record<string, bigint> = {}
  const changes: Record<string, string> = {}
  for (const path of filesUnder(root)) {
    const info = statSync(join(root, path), { bigint: true })
    mtimes[path] = info.mtimeNs
    changes[path] = `ino ${info.ino} size ${info.size} ctime ${info.ctimeNs}`
  }
  return { mtimes, changes }
}

/** Replaces a fixture file's content (some fixture files are read-only, as in a read-only checkout). */
function rewriteSource (path: string, content: Buffer | string): void {
  const mode = statSync(path).mode & 0o777
  chmodSync(path, 0o644)
  writeFileSync(path, content)
  chmodSync(path, mode)
}

/** url() / @import / sourceMappingURL references of a CSS text, as written. */
function cssReferences (css: string): string[] {
  const found: string[] = []
  for (const match of css.matchAll(/url\(\s*(['"]?)([^'")]+?)\1\s*\)/gi)) found.push(match[2] as string)
  for (const match of css.matchAll(/@import\s+(['"])([^'"]+)\1/gi)) found.push(match[2] as string)
  for (const match of css.matchAll(/sourceMappingURL=([^\s*]+)/g)) found.push(match[1] as string)
  return found
}

/** Where a reference of `from` (a path under static.url) points under static.root; undefined when external. */
function resolveReference (from: string, reference: string): string | undefined {
  if (/^(data:|[a-z]+:|\/\/|#)/i.test(reference)) return undefined
  const target = reference.replace(/[?#].*$/, '')
  if (target.startsWith('/static/')) return target.slice('/static/'.length)
  return posix.normalize(posix.join(posix.dirname(from), target))
}

/** Every `.br`/`.gz` under root decompresses to the file beside it. */
function checkVariantsMatch (t: Tap, root: string): void {
  for (const path of filesUnder(root).filter(isVariant)) {
    const original = readFileSync(join(root, path.slice(0, -3)))
    const variant = readFileSync(join(root, path))
    const decoded = path.endsWith('.br') ? brotliDecompressSync(variant) : gunzipSync(variant)
    t.ok(decoded.equals(original), `${path} decompresses to ${path.slice(0, -3)}`)
  }
}

t.test('collectstatic copies every found file and writes a manifest of content-hashed names', async (t) => {
  const { app, dir, root } = await project(t)
  const result = await app.media.collectstatic()

  t.same([...result.copied].sort(), COLLECTED, 'every found file copied')
  t.same(result.unmodified, [])
  const manifest = JSON.parse(readFileSync(join(root, 'staticfiles.json'), 'utf8'))
  t.same(Object.keys(manifest).sort(), ['paths', 'version'])
  t.type(manifest.version, 'string')
  t.same(manifest.paths, result.manifest, 'the manifest on disk is the one reported')
  t.same(Object.keys(manifest.paths).sort(), COLLECTED, 'the manifest maps every collected path')

  for (const path of COLLECTED) {
    const hashed: string = manifest.paths[path]
    t.match(hashed, /\.[0-9a-f]{12}(\.[^./]+)?$/, `${path}: 12 hex digits`)
    const content = readFileSync(join(root, hashed))
    t.equal(hashed, expectedHashedName(path, content), `${path} -> ${hashed}: md5 of its final content, before the last extension`)
    t.ok(readFileSync(join(root, path)).equals(readFileSync(join(dir, SOURCES[path] as string))), `${path}: the original name holds the source bytes`)
  }
  t.match(manifest.paths['css/app.css.map'], /^css\/app\.css\.[0-9a-f]{12}\.map$/, 'last extension only')
  t.match(manifest.paths['js/app.js.map'], /^js\/app\.js\.[0-9a-f]{12}\.map$/)
  t.match(manifest.paths['plugin/widget/widget.css'], /^plugin\/widget\/widget\.[0-9a-f]{12}\.css$/, 'plugin dir under its prefix')
  t.same([...result.postProcessed].sort(), Object.values(manifest.paths).sort(), 'every hashed file reported as post-processed')

  const written = filesUnder(root).filter((path) => !isVariant(path))
  t.same(written, [...COLLECTED, ...Object.values(manifest.paths) as string[], 'staticfiles.json'].sort(), 'nothing else in static.root')
})

t.test('CSS and JS references are rewritten to hashed names that exist', async (t) => {
  const { app, dir, root } = await project(t)
  const { manifest } = await app.media.collectstatic()
  const hashedCss = readFileSync(join(root, manifest['css/app.css'] as string))
  const css = hashedCss.toString('utf8')
  t.equal(manifest['css/app.css'], expectedHashedName('css/app.css', hashedCss), 'hash of the rewritten content')
  t.not(css, readFileSync(join(dir, 'static-a/css/app.css'), 'utf8'), 'the hashed copy is rewritten')
  t.equal(readFileSync(join(root, 'css/app.css'), 'utf8'), readFileSync(join(dir, 'static-a/css/app.css'), 'utf8'), 'the original name keeps the original text')

  const hashedValues = new Set(Object.values(manifest))
  const pointedAt: string[] = []
  for (const reference of cssReferences(css)) {
    const target = resolveReference(manifest['css/app.css'] as string, reference)
    if (target === undefined) continue
    pointedAt.push(target)
    t.ok(hashedValues.has(target), `${reference} is a hashed name`)
    t.ok(existsSync(join(root, target)), `${reference} exists in static.root`)
  }
  const referenced = ['css/base.css', 'css/theme/dark.css', 'fonts/icons.woff2', 'fonts/icons.eot', 'img/logo.png', 'img/hero.png', 'img/icons.svg', 'css/app.css.map']
  t.same(pointedAt.sort(), referenced.map((path) => manifest[path]).sort(), 'every internal reference rewritten, none missed')

  const base = (path: string): string => posix.basename(manifest[path] as string)
  t.match(css, `@import "${base('css/base.css')}";`, '@import "..."')
  t.match(css, `@import url('theme/${base('css/theme/dark.css')}');`, '@import url(...)')
  t.match(css, `url('../fonts/${base('fonts/icons.woff2')}') format('woff2')`, 'quoted ../')
  t.match(css, `url(../fonts/${base('fonts/icons.eot')}?#iefix)`, '?#iefix kept')
  t.match(css, `url("../img/${base('img/logo.png')}")`, 'double quotes kept')
  t.match(css, `url(/static/${manifest['img/hero.png']})`, '/static/ stays absolute')
  t.match(css, `url("../img/${base('img/icons.svg')}#star")`, '#fragment kept')
  for (const untouched of ['url(data:image/png;base64,iVBORw0KGgo=)', 'url(https://cdn.example.com/x.png)', 'url(//cdn.example.com/y.png)', 'url(#gradient)']) {
    t.match(css, untouched, `${untouched} untouched`)
  }
  t.match(css, `/*# sourceMappingURL=${base('css/app.css.map')} */`, 'CSS source map')

  const js = readFileSync(join(root, manifest['js/app.js'] as string))
  t.equal(manifest['js/app.js'], expectedHashedName('js/app.js', js))
  t.match(js.toString('utf8'), new RegExp(`//# sourceMappingURL=${base('js/app.js.map').replace(/\./g, '\\.')}\\n?$`), 'JS source map')
  t.ok(existsSync(join(root, 'js', base('js/app.js.map'))))

  const dark = readFileSync(join(root, manifest['css/theme/dark.css'] as string), 'utf8')
  t.match(dark, `url('../../${manifest['img/logo.png']}') no-repeat`, 'two levels up')
  const widget = readFileSync(join(root, manifest['plugin/widget/widget.css'] as string), 'utf8')
  t.equal(widget, `.widget { background: url(${base('plugin/widget/widget.png')}); }\n`, 'plugin CSS points at its own hashed image')
  t.equal(readFileSync(join(root, manifest['css/base.css'] as string), 'utf8'), readFileSync(join(dir, 'static-a/css/base.css'), 'utf8'), 'nothing to rewrite: same text')
})

t.test('a changed file gets a new hash, and so does every file that references it', async (t) => {
  const { app, dir, root } = await project(t)
  const first = await app.media.collectstatic()
  const font = Buffer.concat([readFileSync(join(dir, 'static-a/fonts/icons.woff2')), Buffer.from('changed')])
  rewriteSource(join(dir, 'static-a/fonts/icons.woff2'), font)
  const second = await app.media.collectstatic()

  t.same(second.copied, ['fonts/icons.woff2'], 'only the changed file is copied')
  t.same([...second.unmodified].sort(), COLLECTED.filter((path) => path !== 'fonts/icons.woff2'))
  t.ok(readFileSync(join(root, 'fonts/icons.woff2')).equals(font), 'the new font under its own name')
  t.equal(second.manifest['fonts/icons.woff2'], expectedHashedName('fonts/icons.woff2', font), 'new hash for the font')
  t.not(second.manifest['css/app.css'], first.manifest['css/app.css'], 'the stylesheet that uses the font is renamed')
  const css = readFileSync(join(root, second.manifest['css/app.css'] as string))
  t.equal(second.manifest['css/app.css'], expectedHashedName('css/app.css', css))
  t.match(css.toString('utf8'), posix.basename(second.manifest['fonts/icons.woff2'] as string), 'and points at the new font')
  for (const path of COLLECTED.filter((path) => path !== 'fonts/icons.woff2' && path !== 'css/app.css')) {
    t.equal(second.manifest[path], first.manifest[path], `${path} keeps its hash`)
  }
  t.same([...second.postProcessed].sort(), [second.manifest['css/app.css'], second.manifest['fonts/icons.woff2']].sort())
  t.same(JSON.parse(readFileSync(join(root, 'staticfiles.json'), 'utf8')).paths, second.manifest, 'manifest on disk updated')
})

t.test('a changed read-only source is copied again', async (t) => {
  // as any user but root, writing onto the 0444 copy in place would be EACCES
  const { app, dir, root } = await project(t)
  const hero = join(dir, 'static-a/img/hero.png')
  chmodSync(hero, 0o444)
  await app.media.collectstatic()
  const changed = Buffer.concat([readFileSync(hero), Buffer.from('more')])
  rewriteSource(hero, changed)
  const { copied } = await app.media.collectstatic()
  t.same(copied, ['img/hero.png'])
  t.ok(readFileSync(join(root, 'img/hero.png')).equals(changed))
})

t.test('a chain of @imports a -> b -> c -> d gets every final hash in one run, and a change at its end renames them all', async (t) => {
  const { app, dir, root } = await project(t)
  // processed a, b, c in that order: each pass settles one more level
  mkdirSync(join(dir, 'static-a/chain'))
  writeFileSync(join(dir, 'static-a/chain/a.css'), '@import "b.css";\n')
  writeFileSync(join(dir, 'static-a/chain/b.css'), '@import "c.css";\n')
  writeFileSync(join(dir, 'static-a/chain/c.css'), '.c { background: url(d.svg); }\n')
  writeFileSync(join(dir, 'static-a/chain/d.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n')
  const first = await app.media.collectstatic()
  const check = (manifest: Record<string, string>) => {
    for (const [from, to] of [['a.css', 'b.css'], ['b.css', 'c.css'], ['c.css', 'd.svg']] as const) {
      const content = readFileSync(join(root, manifest[`chain/${from}`] as string))
      t.equal(manifest[`chain/${from}`], expectedHashedName(`chain/${from}`, content), `${from}: hash of its final content`)
      t.match(content.toString('utf8'), posix.basename(manifest[`chain/${to}`] as string), `${from} points at the final name of ${to}`)
    }
  }
  check(first.manifest)
  writeFileSync(join(dir, 'static-a/chain/d.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="2"/>\n')
  const second = await app.media.collectstatic()
  t.same(second.copied, ['chain/d.svg'])
  check(second.manifest)
  for (const name of ['a.css', 'b.css', 'c.css', 'd.svg']) t.not(second.manifest[`chain/${name}`], first.manifest[`chain/${name}`], `${name} renamed`)
})

t.test('.br and .gz variants', async (t) => {
  const { app, dir, root } = await project(t)
  // compressible bytes, but a type that is not: the type decides
  writeFileSync(join(dir, 'static-a/img/zeros.png'), Buffer.alloc(4096))
  writeFileSync(join(dir, 'static-a/fonts/zeros.woff2'), Buffer.alloc(4096))
  const { manifest } = await app.media.collectstatic()
  checkVariantsMatch(t, root)
  const files = filesUnder(root).filter((path) => !isVariant(path) && path !== 'staticfiles.json')
  for (const path of files) {
    const content = readFileSync(join(root, path))
    for (const ext of ['br', 'gz']) {
      const variant = `${path}.${ext}`
      if (existsSync(join(root, variant))) {
        t.ok(statSync(join(root, variant)).size <= content.length * 0.95, `${variant} is at most 95% of the original`)
      } else if (TEXT.test(path)) {
        const best = ext === 'gz'
          ? gzipSync(content, { level: 9 })
          : brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: content.length } })
        t.ok(best.length > content.length * 0.95, `no ${variant}: it would not save 5%`)
      }
    }
    if (INCOMPRESSIBLE.test(path)) t.notOk(existsSync(join(root, `${path}.br`)) || existsSync(join(root, `${path}.gz`)), `${path}: no variant for an incompressible type`)
  }
  for (const path of ['img/zeros.png', manifest['img/zeros.png'], 'fonts/zeros.woff2'] as string[]) {
    t.same(filesUnder(root).filter((file) => file.startsWith(`${path}.`)), [], `${path}: no variant`)
  }
  for (const path of ['css/app.css', manifest['css/app.css'], 'js/app.js', manifest['js/app.js']] as string[]) {
    t.ok(existsSync(join(root, `${path}.br`)) && existsSync(join(root, `${path}.gz`)), `${path} has both variants`)
  }
})

t.test('gzip and brotli output is deterministic', async (t) => {
  const one = await project(t)
  const two = await project(t)
  await one.app.media.collectstatic()
  await two.app.media.collectstatic()
  const variants = filesUnder(one.root).filter(isVariant)
  t.ok(variants.length > 10)
  t.same(filesUnder(two.root), filesUnder(one.root), 'same files')
  for (const path of variants) t.ok(readFileSync(join(one.root, path)).equals(readFileSync(join(two.root, path))), `${path}: identical bytes`)
  // the only fields of a gzip header that could change from run to run (RFC 1952 2.3): no time stamp, no name
  for (const path of variants.filter((variant) => variant.endsWith('.gz'))) {
    const header = readFileSync(join(one.root, path)).subarray(0, 10)
    t.equal(header.readUInt32LE(4), 0, `${path}: MTIME is 0, whatever the time of the run`)
    t.equal(header[3]! & 0b11000, 0, `${path}: no FNAME or FCOMMENT`)
  }
})

t.test('a second run on an unchanged tree writes nothing', async (t) => {
  const { app, dir, root } = await project(t)
  const first = await app.media.collectstatic()
  const before = snapshot(root)
  await afterFileClockTick(t, root)
  const second = await app.media.collectstatic()
  t.same(second.copied, [], '0 copied')
  t.same(second.postProcessed, [], '0 post-processed')
  t.same([...second.unmodified].sort(), COLLECTED, 'everything unmodified')
  t.same(second.manifest, first.manifest)
  const after = snapshot(root)
  t.same(after.mtimes, before.mtimes, 'no mtime changed, staticfiles.json included')
  t.same(after.changes, before.changes, 'no file rewritten or replaced')

  // a new process (a fresh app on the same project) knows no more than the disk
  const again = await project(t, { dir })
  const third = await again.app.media.collectstatic()
  t.same([third.copied, third.postProcessed, third.unmodified.length], [[], [], COLLECTED.length])
  t.same(snapshot(root), before)
})

t.test('a file shadowed by an earlier dir is reported and loses', async (t) => {
  const { app, dir, root } = await project(t)
  const { shadowed, manifest } = await app.media.collectstatic()
  t.equal(shadowed.length, 1)
  t.match(shadowed[0], { path: 'img/logo.png', source: join(dir, 'static-b/img/logo.png'), from: { dir: join(dir, 'static-b'), prefix: '' } })
  const a = readFileSync(join(dir, 'static-a/img/logo.png'))
  t.notOk(a.equals(readFileSync(join(dir, 'static-b/img/logo.png'))), 'the fixture logos differ')
  t.ok(readFileSync(join(root, 'img/logo.png')).equals(a), 'static-a wins')
  t.ok(readFileSync(join(root, manifest['img/logo.png'] as string)).equals(a), 'and its hashed copy is static-a too')
})

t.test('ignored files are never collected', async (t) => {
  const { app, root } = await project(t)
  const { manifest, copied } = await app.media.collectstatic()
  const all = filesUnder(root)
  for (const path of ['.env', 'css/app.css~', 'CVS/Entries']) {
    t.notOk(all.some((file) => file.startsWith(path)), `${path} not in static.root`)
    t.notOk(path in manifest, `${path} not in the manifest`)
    t.notOk(copied.includes(path))
    t.same(await app.media.findstatic(path), [], `${path} not found`)
  }
  t.notOk(all.some((file) => file.includes('CVS') || file.includes('.env') || file.includes('~')))
})

t.test('ignore: a path glob leaves a directory out', async (t) => {
  const { app, root } = await project(t)
  const { manifest } = await app.media.collectstatic({ ignore: ['js/**'] })
  t.same(Object.keys(manifest).sort(), COLLECTED.filter((path) => !path.startsWith('js/')))
  t.notOk(existsSync(join(root, 'js')))
})

t.test('ignore: braces and character classes, as in fnmatch and shells', async (t) => {
  const { app, dir } = await project(t)
  for (const name of ['a.scss', 'b.less', 'a.css', 'b.css', 'c.css']) writeFileSync(join(dir, 'static-a/css', name), '.x {}\n')
  const { manifest } = await app.media.collectstatic({ ignore: ['*.{scss,less}', '[ab].css'] })
  t.same(Object.keys(manifest).filter((path) => /^css\/[a-c]\./.test(path)), ['css/c.css'])
})

t.test('ignore: [*.map] leaves the maps out; the stylesheet and script that point at them are errors', async (t) => {
  const { app, root } = await project(t)
  // the rule is that every reference names a collected file; an ignored map is not one
  await t.rejects(app.media.collectstatic({ ignore: ['*.map'] }), { code: 'FST_MEDIA_COLLECT', message: /css\/app\.css references app\.css\.map\b.*js\/app\.js references app\.js\.map\b/ })
  t.notOk(filesUnder(root).some((path) => path.includes('.map')), 'no map collected')
  t.notOk(existsSync(join(root, 'staticfiles.json')), 'no manifest')
  // the same project without the CSS/JS comments collects without maps
  const other = await project(t)
  for (const file of ['static-a/css/app.css', 'static-a/js/app.js']) {
    writeFileSync(join(other.dir, file), readFileSync(join(other.dir, file), 'utf8').replace(/.*sourceMappingURL.*\n/, ''))
  }
  const { manifest } = await other.app.media.collectstatic({ ignore: ['*.map'] })
  t.same(Object.keys(manifest).sort(), COLLECTED.filter((path) => !path.endsWith('.map')))
})

t.test('dryRun writes nothing and reports what a run would do', async (t) => {
  const { app, dir, root } = await project(t)
  const dry = await app.media.collectstatic({ dryRun: true })
  t.notOk(existsSync(root), 'static.root not even created')
  t.equal(dry.copied.length, COLLECTED.length)
  t.equal(dry.postProcessed.length, COLLECTED.length)
  t.equal(dry.unmodified.length, 0)
  const real = await app.media.collectstatic()
  t.same(dry.manifest, real.manifest, 'the manifest it would write')
  t.same([...dry.copied].sort(), [...real.copied].sort())

  writeFileSync(join(dir, 'static-a/js/app.js'), '// new\n//# sourceMappingURL=app.js.map\n')
  writeFileSync(join(root, 'stale.txt'), 'stale')
  const before = snapshot(root)
  await afterFileClockTick(t, root)
  const second = await app.media.collectstatic({ dryRun: true })
  t.same(second.copied, ['js/app.js'])
  t.same(second.postProcessed, [expectedHashedName('js/app.js', Buffer.from(`// new\n//# sourceMappingURL=${posix.basename(real.manifest['js/app.js.map'] as string)}\n`))])
  // a dry run of --clear reports what the real --clear would do: everything copied again
  const cleared = await app.media.collectstatic({ dryRun: true, clear: true })
  t.same([...cleared.copied].sort(), [...real.copied].sort())
  t.equal(cleared.postProcessed.length, Object.keys(real.manifest).length)
  t.same(snapshot(root), before, 'nothing written, nothing cleared')
})

t.test('clear empties static.root first', async (t) => {
  const { app, root } = await project(t)
  mkdirSync(join(root, 'old'), { recursive: true })
  writeFileSync(join(root, 'old/stale.css'), 'stale')
  await app.media.collectstatic()
  t.ok(existsSync(join(root, 'old/stale.css')), 'kept without clear')
  const { manifest, copied } = await app.media.collectstatic({ clear: true })
  t.notOk(existsSync(join(root, 'old/stale.css')), 'removed by clear')
  t.same([...copied].sort(), COLLECTED, 'everything copied again')
  t.same(filesUnder(root).filter((path) => !isVariant(path)), [...COLLECTED, ...Object.values(manifest), 'staticfiles.json'].sort())
})

t.test('postProcess: false copies only', async (t) => {
  const { app, root } = await project(t)
  const result = await app.media.collectstatic({ postProcess: false })
  t.same([...result.copied].sort(), COLLECTED)
  t.same(result.postProcessed, [])
  t.same(result.manifest, {})
  t.same(filesUnder(root).filter((path) => !isVariant(path)), COLLECTED, 'no hashed file, no manifest')
  checkVariantsMatch(t, root)
})

/** brotli of `content` at `quality`, as collectstatic is asked to write it. */
const brotliAt = (content: Buffer, quality: number): Buffer =>
  brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: content.length } })

t.test('brotliQuality: every .br is brotli at that quality; without it, at 11', async (t) => {
  const fast = await project(t)
  const best = await project(t)
  await fast.app.media.collectstatic({ brotliQuality: 4 })
  await best.app.media.collectstatic()
  const bytes = { fast: 0, best: 0 }
  for (const [run, quality] of [['fast', 4], ['best', 11]] as const) {
    const { root } = run === 'fast' ? fast : best
    const variants = filesUnder(root).filter((path) => path.endsWith('.br'))
    t.ok(variants.length > 5)
    for (const path of variants) {
      const content = readFileSync(join(root, path.slice(0, -3)))
      const written = readFileSync(join(root, path))
      t.ok(written.equals(brotliAt(content, quality)), `${run}: ${path} at quality ${quality}`)
      bytes[run] += written.length
    }
  }
  t.ok(bytes.best < bytes.fast, `quality 11 writes fewer bytes (${bytes.best}) than quality 4 (${bytes.fast})`)

  // another quality later leaves the variants already written as they are (README: run with --clear)
  const before = snapshot(fast.root).changes
  await fast.app.media.collectstatic({ brotliQuality: 11 })
  const after = snapshot(fast.root).changes
  for (const path of Object.keys(before)) t.equal(after[path], before[path], `${path} untouched by a run at another quality`)
})

t.test('brotliQuality: anything but an integer from 0 to 11 is FST_MEDIA_INVALID_OPTION, before anything is written', async (t) => {
  const { app, root } = await project(t)
  for (const quality of [12, -1, 9.5, '9', Number.NaN]) {
    await t.rejects(app.media.collectstatic({ brotliQuality: quality as number }), { code: 'FST_MEDIA_INVALID_OPTION', message: /^collectstatic\.brotliQuality: must be an integer from 0 to 11/ }, JSON.stringify(quality))
  }
  t.notOk(existsSync(root), 'static.root was never made')
})

t.test('compress: false writes no variant', async (t) => {
  const { app, root } = await project(t)
  await app.media.collectstatic({ compress: false })
  t.same(filesUnder(root).filter(isVariant), [])
})

t.test('variants never go stale', async (t) => {
  t.test('a run with compress: false after a compressed one', async (t) => {
    const { app, dir, root } = await project(t)
    await app.media.collectstatic()
    writeFileSync(join(dir, 'static-a/js/app.js'), readFileSync(join(dir, 'static-a/js/app.js'), 'utf8').replace('Hello', 'Howdy'))
    await app.media.collectstatic({ compress: false })
    checkVariantsMatch(t, root)
  })
  t.test('a run that failed, then a good one', async (t) => {
    const { app, dir, root } = await project(t)
    await app.media.collectstatic()
    const css = join(dir, 'static-a/css/app.css')
    writeFileSync(css, readFileSync(css, 'utf8') + '.new { background: url(../img/new.png); }\n')
    await t.rejects(app.media.collectstatic(), { code: 'FST_MEDIA_COLLECT' })
    copyFileSync(join(dir, 'static-a/img/hero.png'), join(dir, 'static-a/img/new.png'))
    const { manifest } = await app.media.collectstatic()
    t.match(readFileSync(join(root, manifest['css/app.css'] as string), 'utf8'), posix.basename(manifest['img/new.png'] as string))
    checkVariantsMatch(t, root)
  })
  t.test('a compressed run after an uncompressed one writes the variants', async (t) => {
    const { app, root } = await project(t)
    await app.media.collectstatic({ compress: false })
    await app.media.collectstatic()
    t.ok(existsSync(join(root, 'css/app.css.gz')), 'css/app.css.gz')
    t.ok(existsSync(join(root, 'js/app.js.br')), 'js/app.js.br')
  })
})

t.test('a reference to a missing file is an error naming both files', async (t) => {
  const { app, dir, root } = await project(t)
  writeFileSync(join(dir, 'static-a/css/broken.css'), '.x { background: url("../img/missing.png"); }\n')
  const error = await app.media.collectstatic().then(() => undefined, (err: unknown) => err)
  t.match(error, { code: 'FST_MEDIA_COLLECT', message: /css\/broken\.css/ })
  t.match(error, { message: /missing\.png/ })
  t.notOk(existsSync(join(root, 'staticfiles.json')), 'no manifest written')

  const js = await project(t)
  writeFileSync(join(js.dir, 'static-a/js/lonely.js'), 'export const x = 1\n//# sourceMappingURL=lonely.js.map\n')
  await t.rejects(js.app.media.collectstatic(), { code: 'FST_MEDIA_COLLECT', message: /js\/lonely\.js references lonely\.js\.map/ })
})

t.test('inline SVG in a data: URI and references in comments are not references', async (t) => {
  const { app, dir, root } = await project(t)
  // what an SVG optimiser inlines: a gradient referenced by url(#id), percent-encoded
  const svg = "url(\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'%3E%3Cpath fill='url(%23b)'/%3E%3C/svg%3E\")"
  const css = `/* @import url("old.css"); */\n.icon { background: ${svg}, url(../img/logo.png); }\n/* .x { background: url(../img/gone.png) } */\n`
  writeFileSync(join(dir, 'static-a/css/inline.css'), css)
  const { manifest } = await app.media.collectstatic()
  const collected = readFileSync(join(root, manifest['css/inline.css'] as string), 'utf8')
  t.equal(collected, css.replace('../img/logo.png', `../img/${posix.basename(manifest['img/logo.png'] as string)}`), 'only the real reference rewritten; the data: URI and the comments kept byte for byte')
})

t.test('references in other valid spellings', async (t) => {
  t.test('percent-encoded: rewritten to the encoded hashed name', async (t) => {
    const { app, dir, root } = await project(t)
    copyFileSync(join(dir, 'static-a/img/hero.png'), join(dir, 'static-a/img/my image.png'))
    writeFileSync(join(dir, 'static-a/css/encoded.css'), '.a { background: url(../img/my%20image.png); }\n')
    const { manifest } = await app.media.collectstatic()
    const hashed = posix.basename(manifest['img/my image.png'] as string)
    const css = readFileSync(join(root, manifest['css/encoded.css'] as string), 'utf8')
    t.equal(css, `.a { background: url(../img/${encodeURIComponent(hashed)}); }\n`, 'no raw space in an unquoted url()')
  })
  t.test('a stray % is an error or a name, not a crash', async (t) => {
    const { app, dir } = await project(t)
    copyFileSync(join(dir, 'static-a/img/hero.png'), join(dir, 'static-a/img/100%.png'))
    writeFileSync(join(dir, 'static-a/css/percent.css'), '.a { background: url(../img/100%.png); }\n')
    const outcome = await app.media.collectstatic().then(() => 'collected', (err: { code?: string, message: string }) => `${err.code}: ${err.message}`)
    t.match(outcome, /^(collected|FST_MEDIA_COLLECT: .*percent\.css)/)
  })
  t.test('uppercase URL()', async (t) => {
    const { app, dir, root } = await project(t)
    writeFileSync(join(dir, 'static-a/css/upper.css'), '.a { background: URL(../img/logo.png); }\n')
    const { manifest } = await app.media.collectstatic()
    t.match(readFileSync(join(root, manifest['css/upper.css'] as string), 'utf8'), posix.basename(manifest['img/logo.png'] as string))
  })
  t.test('minified @import"x.css"', async (t) => {
    const { app, dir, root } = await project(t)
    writeFileSync(join(dir, 'static-a/css/min.css'), '@import"base.css";.a{color:red}\n')
    const { manifest } = await app.media.collectstatic()
    t.match(readFileSync(join(root, manifest['css/min.css'] as string), 'utf8'), posix.basename(manifest['css/base.css'] as string))
  })
  t.test('a script that builds a sourceMappingURL comment in a string', async (t) => {
    const { app, dir } = await project(t)
    writeFileSync(join(dir, 'static-a/js/tool.js'), "export const tail = (name) => '//# sourceMappingURL=' + name\n")
    const { manifest } = await app.media.collectstatic()
    t.ok('js/tool.js' in manifest)
  })
})

t.test('stylesheets that @import each other in a cycle: FST_MEDIA_COLLECT naming them, nothing written', async (t) => {
  const { app, dir, root } = await project(t)
  writeFileSync(join(dir, 'static-a/css/a.css'), '@import "b.css";\n')
  writeFileSync(join(dir, 'static-a/css/b.css'), '@import "a.css";\n')
  await t.rejects(app.media.collectstatic(), { code: 'FST_MEDIA_COLLECT', message: /css\/a\.css, css\/b\.css reference each other in a cycle/ })
  t.notOk(existsSync(root), 'static.root not even created')

  const self = await project(t)
  writeFileSync(join(self.dir, 'static-a/css/self.css'), '@import "self.css";\n')
  await t.rejects(self.app.media.collectstatic(), { code: 'FST_MEDIA_COLLECT', message: /^collectstatic: css\/self\.css references itself/ })
})

t.test('symlinks: followed inside their dir, never outside', async (t) => {
  const { app, dir, root } = await project(t)
  const elsewhere = tempDir(t)
  writeFileSync(join(elsewhere, 'secret.txt'), 'secret')
  mkdirSync(join(elsewhere, 'dir'))
  writeFileSync(join(elsewhere, 'dir/leak.css'), 'body {}')
  symlinkSync(join(elsewhere, 'secret.txt'), join(dir, 'static-a/secret.txt'))
  symlinkSync(join(elsewhere, 'dir'), join(dir, 'static-a/outside'))
  symlinkSync('../static-b/js/vendor.js', join(dir, 'static-a/sibling.js'))
  symlinkSync('app.js', join(dir, 'static-a/js/alias.js'))
  symlinkSync('img', join(dir, 'static-a/pictures'))

  const { manifest } = await app.media.collectstatic()
  const all = filesUnder(root)
  for (const path of ['secret.txt', 'outside/leak.css', 'sibling.js']) {
    t.notOk(path in manifest, `${path} not collected`)
    t.notOk(all.some((file) => file.startsWith(path)), `${path} not in static.root`)
    t.same(await app.media.findstatic(path), [], `${path} not found`)
  }
  t.same(Object.keys(manifest).sort(), [...COLLECTED, 'js/alias.js', 'pictures/hero.png', 'pictures/icons.svg', 'pictures/logo.png'].sort(), 'links inside the dir are followed')
  t.ok(lstatSync(join(root, 'js/alias.js')).isFile(), 'collected as a file, not a link')
  t.equal(readFileSync(join(root, 'js/alias.js'), 'utf8'), readFileSync(join(dir, 'static-a/js/app.js'), 'utf8'))
  t.ok(readFileSync(join(root, 'pictures/hero.png')).equals(readFileSync(join(dir, 'static-a/img/hero.png'))))
  t.equal((await app.media.findstatic('pictures/hero.png')).length, 1)
})

t.test('a symlink to an ancestor inside the dir does not collect the tree over and over', async (t) => {
  const { app, dir } = await project(t)
  symlinkSync('.', join(dir, 'static-a/loop'))
  const { copied } = await app.media.collectstatic({ compress: false, postProcess: false })
  t.same(copied.filter((path) => path.startsWith('loop/loop/')), [], 'no path through the loop twice')
})

t.test('static(): hashed URLs in production', async (t) => {
  const { app, dir } = await project(t, { mode: 'production' })
  t.throws(() => app.media.static('css/app.css'), { code: 'FST_MEDIA_STATIC_NOT_FOUND', message: /collectstatic/ }, 'no manifest yet')
  const { manifest } = await app.media.collectstatic()
  const url = app.media.static('css/app.css')
  t.equal(url, `/static/${manifest['css/app.css']}`)
  t.match(url, /^\/static\/css\/app\.[0-9a-f]{12}\.css$/)
  t.equal(app.media.static('plugin/widget/widget.png'), `/static/${manifest['plugin/widget/widget.png']}`)
  t.throws(() => app.media.static('css/nope.css'), { code: 'FST_MEDIA_STATIC_NOT_FOUND', message: /css\/nope\.css.*collectstatic/ })
  t.throws(() => app.media.static('.env'), { code: 'FST_MEDIA_STATIC_NOT_FOUND' }, 'ignored files are unknown')

  const restarted = await project(t, { mode: 'production', dir })
  t.equal(restarted.app.media.static('css/app.css'), url, 'read from staticfiles.json by a new process')

  rewriteSource(join(dir, 'static-a/fonts/icons.woff2'), 'new font')
  const second = await app.media.collectstatic()
  t.equal(app.media.static('css/app.css'), `/static/${second.manifest['css/app.css']}`, 'a collect in-process updates the URLs')
  t.not(app.media.static('css/app.css'), url)
})

t.test('static(): a ?query or #fragment is kept after the hashed name, as Django does', async (t) => {
  const { app } = await project(t, { mode: 'production' })
  const { manifest } = await app.media.collectstatic()
  const hashed = `/static/${manifest['css/app.css'] as string}`
  t.equal(app.media.static('css/app.css?v=2'), `${hashed}?v=2`)
  t.equal(app.media.static('css/app.css#frag'), `${hashed}#frag`)
  t.equal(app.media.static('img/icons.svg?v=2#star'), `/static/${manifest['img/icons.svg'] as string}?v=2#star`)
  t.equal(app.media.static('fonts/icons.eot?#iefix'), `/static/${manifest['fonts/icons.eot'] as string}?#iefix`)
  t.throws(() => app.media.static('css/nope.css?v=2'), { code: 'FST_MEDIA_STATIC_NOT_FOUND', message: /^css\/nope\.css: / }, 'the path without its suffix named')

  t.throws(() => app.media.static('../x.css?v=2'), { code: 'FST_MEDIA_STATIC_NOT_FOUND' }, 'not a path under static.url')

  const dev = await project(t, { mode: 'development' })
  t.equal(dev.app.media.static('css/app.css?v=2#frag'), '/static/css/app.css?v=2#frag', 'kept in development too')
  t.equal(dev.app.media.static('plugin/widget/widget.css?v=2'), '/static/plugin/widget/widget.css?v=2', 'under a prefix too')
})

t.test('static(): a file whose name holds ? or # is named whole, in both modes', async (t) => {
  const { app, dir } = await project(t, { mode: 'production' })
  writeFileSync(join(dir, 'static-a/img/#1?.txt'), 'odd name')
  const { manifest } = await app.media.collectstatic()
  t.equal(app.media.static('img/#1?.txt'), `/static/${(manifest['img/#1?.txt'] as string).replace('#1?', '%231%3F')}`)
  const dev = await project(t, { mode: 'development', dir })
  t.equal(dev.app.media.static('img/#1?.txt'), '/static/img/%231%3F.txt')
})

t.test('static(): original URLs in development', async (t) => {
  const { app } = await project(t, { mode: 'development' })
  t.equal(app.media.static('css/app.css'), '/static/css/app.css')
  await app.media.collectstatic()
  t.equal(app.media.static('css/app.css'), '/static/css/app.css', 'unhashed after collect too')
})

t.test('findstatic: every dir holding a path, the winner first', async (t) => {
  const { app, dir } = await project(t)
  const found = await app.media.findstatic('img/logo.png')
  t.same(found.map((file) => file.source), [join(dir, 'static-a/img/logo.png'), join(dir, 'static-b/img/logo.png')])
  t.same(found.map((file) => file.path), ['img/logo.png', 'img/logo.png'])
  t.same((await app.media.findstatic('plugin/widget/widget.png')).map((file) => file.source), [join(dir, 'plugin-static/widget/widget.png')])
  t.same((await app.media.findstatic('js/vendor.js')).map((file) => file.source), [join(dir, 'static-b/js/vendor.js')])
  for (const path of ['img/nope.png', 'widget/widget.png', '..', '../static-b/img/logo.png', 'img/../../static-b/img/logo.png', '../../etc/passwd', 'css/../../static-a/.env']) {
    t.same(await app.media.findstatic(path), [], `${path}: none`)
  }
})

t.test('onProgress counts up to the total', async (t) => {
  const { app } = await project(t)
  const calls: Array<[number, number]> = []
  await app.media.collectstatic({ onProgress: (done, total) => calls.push([done, total]) })
  t.same(calls.map(([done]) => done), Array.from({ length: COLLECTED.length * 2 }, (_, i) => i + 1))
  t.ok(calls.every(([, total]) => total === COLLECTED.length * 2))
})

t.test('static.fileMode must be permission bits', async (t) => {
  for (const fileMode of [-1, 0o1000, 1.5, '644', Number.NaN]) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => await app.register(fastifyMedia, { baseDir: tempDir(t), media: false, static: { fileMode: fileMode as number } }), { code: 'FST_MEDIA_INVALID_OPTION', message: /static\.fileMode: must be permission bits/ }, String(fileMode))
  }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: tempDir(t), media: false, static: { fileMode: 0 } })
  t.pass('0 is a mode')
})
