import t from 'tap'
import Fastify from 'fastify'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import fastifyMedia from '../lib/index.js'
import { FIXTURES, tempDir, type Tap } from './helpers.js'

async function project (t: Tap, mode: 'development' | 'production' = 'production') {
  const dir = tempDir(t)
  cpSync(join(FIXTURES, 'static-project'), dir, { recursive: true })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, mode, static: { dirs: ['static-a', 'static-b'] }, media: false })
  return { app, dir, root: join(dir, 'staticfiles') }
}

t.test('--clear with a broken reference leaves static.root as it was', async (t) => {
  const { app, dir, root } = await project(t)
  const { manifest } = await app.media.collectstatic()
  writeFileSync(join(dir, 'static-a/css/broken.css'), '.x { background: url(nope.png); }')
  await t.rejects(app.media.collectstatic({ clear: true }), { code: 'FST_MEDIA_COLLECT', message: /broken\.css references nope\.png/ })
  t.ok(existsSync(join(root, manifest['css/app.css']!)), 'the served files are still there')
  t.equal(app.media.static('css/app.css'), `/static/${manifest['css/app.css']}`)
})

t.test('one collectstatic at a time; a lock left by a killed run says how to proceed', async (t) => {
  const { app, root } = await project(t)
  const runs = await Promise.allSettled([app.media.collectstatic(), app.media.collectstatic()])
  t.equal(runs.filter((run) => run.status === 'fulfilled').length, 1)
  t.match(runs.find((run) => run.status === 'rejected'), { reason: { code: 'FST_MEDIA_COLLECT', message: /another collectstatic is running/ } })
  t.notOk(existsSync(join(root, '.collectstatic.lock')), 'released')
  writeFileSync(join(root, '.collectstatic.lock'), '')
  await t.rejects(app.media.collectstatic(), { message: /remove .*\.collectstatic\.lock/ })
})

t.test('a variant older than its file is made again, whatever mtime the source carries', async (t) => {
  const { app, dir, root } = await project(t)
  await app.media.collectstatic()
  // a run killed between the copy and the compression, with a source that keeps an old mtime (rsync -a)
  const source = join(dir, 'static-a/js/app.js')
  writeFileSync(source, readFileSync(source, 'utf8').replace('Hello', 'Howdy'))
  utimesSync(source, new Date('2001-01-01'), new Date('2001-01-01'))
  cpSync(source, join(root, 'js/app.js'), { preserveTimestamps: true })
  const run = await app.media.collectstatic()
  t.same(run.copied, [], 'the copy already matches the source')
  t.same(gunzipSync(readFileSync(join(root, 'js/app.js.gz'))), readFileSync(join(root, 'js/app.js')), 'the .gz is true to the file again')
})

t.test('compressed variants shipped in a static dir', async (t) => {
  const { app, dir, root } = await project(t)
  writeFileSync(join(dir, 'static-a/css/base.css.gz'), 'not really gzip')
  await t.rejects(app.media.collectstatic(), { code: 'FST_MEDIA_COLLECT', message: /css\/base\.css\.gz is a compressed variant/ })
  await app.media.collectstatic({ compress: false })
  t.equal(readFileSync(join(root, 'css/base.css.gz'), 'utf8'), 'not really gzip', 'kept as the project\'s own file without compression')
})

t.test('CSS must be UTF-8; an untouched file keeps every byte, its BOM included', async (t) => {
  const { app, dir, root } = await project(t)
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('body { color: red }\n')])
  writeFileSync(join(dir, 'static-a/css/bom.css'), bom)
  const { manifest } = await app.media.collectstatic()
  t.same(readFileSync(join(root, manifest['css/bom.css']!)), bom)
  writeFileSync(join(dir, 'static-a/css/latin1.css'), Buffer.from([0x2e, 0x61, 0x3a, 0x3a, 0x61, 0x66, 0x74, 0x65, 0x72, 0x7b, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x3a, 0x22, 0xe9, 0x22, 0x7d]))
  await t.rejects(app.media.collectstatic(), { code: 'FST_MEDIA_COLLECT', message: /css\/latin1\.css is not UTF-8/ })
})

t.test('a damaged manifest is no manifest: static files are still served', async (t) => {
  for (const damaged of ['{"version": "1.1", "paths": {"css/app.css', 'null', '{"paths": {"a.css": 5}}']) {
    const { app, dir, root } = await project(t)
    await app.media.collectstatic()
    writeFileSync(join(root, 'staticfiles.json'), damaged)
    writeFileSync(join(root, 'robots.txt'), 'User-agent: *')
    // a server started on the damaged root
    const server = Fastify()
    t.teardown(() => server.close())
    await server.register(fastifyMedia, { baseDir: dir, mode: 'production', static: { dirs: ['static-a', 'static-b'] }, media: false })
    const res = await server.inject('/static/robots.txt')
    t.equal(res.statusCode, 200, `${damaged}: still served`)
    t.equal(res.headers['cache-control'], 'public, max-age=60')
    t.throws(() => server.media.static('css/app.css'), { code: 'FST_MEDIA_STATIC_NOT_FOUND', message: /no valid manifest/ }, damaged)
  }
})

t.test('a file where a directory must go: the error, and nothing written', async (t) => {
  const { app, root } = await project(t)
  mkdirSync(root, { recursive: true })
  writeFileSync(join(root, 'css'), 'not a directory')
  await t.rejects(app.media.collectstatic({ compress: false }), { code: 'FST_MEDIA_COLLECT', message: /^collectstatic: cannot write to .*staticfiles: ENOTDIR/, cause: { code: 'ENOTDIR' } })
  t.equal(readFileSync(join(root, 'css'), 'utf8'), 'not a directory')
  t.notOk(existsSync(join(root, '.collectstatic.lock')), 'the lock is released')
})

t.test('a write that fails leaves no temp file behind', async (t) => {
  const { app, root } = await project(t)
  // a directory where a file must go: the rename onto it fails
  mkdirSync(join(root, 'css', 'base.css'), { recursive: true })
  await t.rejects(app.media.collectstatic({ compress: false }), { code: 'FST_MEDIA_COLLECT', cause: { code: /EISDIR|ENOTEMPTY|EEXIST/ } })
  t.same(readdirSync(join(root, 'css')).filter((name) => name.endsWith('.tmp')), [])
  t.notOk(existsSync(join(root, '.collectstatic.lock')), 'the lock is released after a failure too')
})

t.test('a hashed write that fails after the copies: the documented error, the previous manifest byte for byte', async (t) => {
  for (const stage of ['the hashed file', 'its .br variant'] as const) {
    t.test(stage, async (t) => {
      const { app, dir, root } = await project(t)
      await app.media.collectstatic()
      const previous = readFileSync(join(root, 'staticfiles.json'))
      // a new content for base.css (no reference in it): its hashed name is known before the run
      // long and repetitive, so its .br is worth writing
      const content = `.base { color: red } /* ${stage} */\n`.repeat(20)
      writeFileSync(join(dir, 'static-a/css/base.css'), content)
      const hashed = `css/base.${createHash('md5').update(content).digest('hex').slice(0, 12)}.css`
      // a directory holding a file where that name must land: nothing can rename onto it, root or not
      const blocked = stage === 'the hashed file' ? hashed : `${hashed}.br`
      mkdirSync(join(root, blocked, 'squatter'), { recursive: true })
      await t.rejects(app.media.collectstatic(), { code: 'FST_MEDIA_COLLECT', message: `collectstatic: cannot write to ${root}: `, cause: { code: /EISDIR|ENOTEMPTY|EEXIST/ } })
      t.equal(readFileSync(join(root, 'css/base.css'), 'utf8'), content, 'the copies went through first')
      t.match((await app.media.collectstatic().catch((err: Error) => err) as Error).message, blocked, 'the message names the path')
      if (stage === 'its .br variant') t.ok(statSync(join(root, hashed)).isFile(), 'and so did the hashed file')
      t.ok(readFileSync(join(root, 'staticfiles.json')).equals(previous), 'the manifest on disk is the previous run\'s, byte for byte')
      t.notOk(existsSync(join(root, '.collectstatic.lock')), 'the lock is released')
    })
  }
})

t.test('a name near the file system\'s limit is collected (the temp name beside it is short)', async (t) => {
  const { app, dir, root } = await project(t)
  // 230 bytes: with its 13-byte hash still under 255; a temp name built on it would not be
  const name = `${'n'.repeat(226)}.css`
  writeFileSync(join(dir, 'static-a', name), '.n {}\n')
  const { manifest } = await app.media.collectstatic()
  t.equal(readFileSync(join(root, name), 'utf8'), '.n {}\n')
  t.equal(readFileSync(join(root, manifest[name]!), 'utf8'), '.n {}\n')
})
