import t from 'tap'
import Fastify from 'fastify'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { request } from 'undici'
import fastifyMedia, { S3Storage } from '../lib/index.js'
import { main } from '../lib/cli/main.js'
import { FIXTURES, tempDir } from './helpers.js'
import { s3Bucket } from './s3-server.js'

t.test('collectstatic uploads hashed files and their variants to static.storage', async (t) => {
  const { client, bucket, endpoint } = await s3Bucket(t)
  const dir = tempDir(t)
  cpSync(join(FIXTURES, 'static-project'), dir, { recursive: true })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, {
    baseDir: dir,
    mode: 'production',
    media: false,
    static: { dirs: ['static-a', 'static-b'], storage: new S3Storage({ bucket, client, prefix: 'static/' }) }
  })
  const first = await app.media.collectstatic()
  const hashedCss = first.manifest['css/app.css']!
  t.ok(first.uploaded.includes(hashedCss))
  t.ok(first.uploaded.includes(`${hashedCss}.br`), 'the brotli variant is an object of its own')
  t.notOk(first.uploaded.includes('css/app.css'), 'only hashed names go up')

  const url = app.media.static('css/app.css')
  t.equal(url, `${endpoint}/${bucket}/static/${hashedCss}`)
  const css = await request(url)
  t.equal(css.statusCode, 200)
  t.equal(css.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.match(css.headers['content-type'], /^text\/css/)
  t.same(Buffer.from(await css.body.arrayBuffer()), readFileSync(join(dir, 'staticfiles', hashedCss)))
  const br = await request(`${url}.br`)
  await br.body.dump()
  t.equal(br.headers['content-encoding'], 'br')
  t.match(br.headers['content-type'], /^text\/css/)

  const again = await app.media.collectstatic()
  t.same(again.uploaded, [], 'an unchanged tree uploads nothing')
  writeFileSync(join(dir, 'static-a/css/base.css'), 'body { margin: 1px }\n')
  const dry = await app.media.collectstatic({ dryRun: true })
  t.ok(dry.uploaded.length > 0, 'a dry run says what it would upload')
  t.same((await app.media.collectstatic()).uploaded.filter((name) => !/\.(br|gz)$/.test(name)).sort(), [...dry.uploaded].sort(), 'and then uploads that')
})

/** Every command the client sends from now on, as `Command key` (a middleware on the SDK client, not our storage). */
function commandsOf (client: S3Client): string[] {
  const sent: string[] = []
  client.middlewareStack.add((next, context) => async (args) => {
    const key = (args.input as { Key?: string }).Key
    sent.push(key === undefined ? context.commandName as string : `${context.commandName as string} ${key}`)
    return await next(args)
  }, { step: 'initialize' })
  return sent
}

t.test('a re-run over an unchanged tree reads the bucket\'s staticfiles.json once and sends nothing per file', async (t) => {
  const { client, bucket } = await s3Bucket(t)
  const dir = tempDir(t)
  cpSync(join(FIXTURES, 'static-project'), dir, { recursive: true })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, mode: 'production', media: false, static: { dirs: ['static-a', 'static-b'], storage: new S3Storage({ bucket, client, prefix: 'static/' }) } })
  const first = await app.media.collectstatic()
  const sent = commandsOf(client)

  t.same((await app.media.collectstatic()).uploaded, [])
  t.same(sent.splice(0), ['GetObjectCommand static/staticfiles.json'], 'one GET of the bucket\'s manifest, no HEAD per object, no write')
  t.same((await app.media.collectstatic({ dryRun: true })).uploaded, [], 'a dry run reads it too')
  t.same(sent.splice(0), ['GetObjectCommand static/staticfiles.json'])

  const stored = JSON.parse(await (await request(app.media.static('css/app.css').replace(/css\/app\.[0-9a-f]{12}\.css$/, 'staticfiles.json'))).body.text()) as { paths: Record<string, string>, objects: string[] }
  t.same(stored.paths, first.manifest, 'the bucket\'s manifest has the paths')
  t.same(stored.objects, [...first.uploaded].sort(), 'and every object of the run, variants included')

  writeFileSync(join(dir, 'static-a/css/base.css'), 'body { margin: 1px }\n')
  const changed = await app.media.collectstatic()
  t.ok(changed.uploaded.length > 0)
  const headed = new Set(sent.splice(0).filter((command) => command.startsWith('HeadObjectCommand ')).map((command) => command.slice('HeadObjectCommand static/'.length)))
  t.same([...headed].sort(), [...changed.uploaded, 'staticfiles.json'].sort(), 'only the new objects (and the manifest, saved again) are looked up')

  // without the bucket's manifest (a first run, a run cut short) every object is looked up, none uploaded again
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'static/staticfiles.json' }))
  sent.splice(0)
  t.same((await app.media.collectstatic()).uploaded, [], 'the objects are there: nothing uploaded')
  t.ok(sent.filter((command) => command.startsWith('HeadObjectCommand ')).length >= stored.objects.length, 'each looked up')
  sent.splice(0)
  t.same((await app.media.collectstatic()).uploaded, [])
  t.same(sent, ['GetObjectCommand static/staticfiles.json'], 'and the manifest written again: one request per run again')
})

t.test('static.storage must be a public storage', async (t) => {
  for (const [storage, message] of [
    [new S3Storage({ bucket: 'b', public: false, clientConfig: { region: 'us-east-1' } }), /static\.storage: must be public/],
    [{ save () {} }, /static\.storage: is not a Storage/]
  ] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => await app.register(fastifyMedia, { baseDir: tempDir(t), static: { storage: storage as never } }), { code: 'FST_MEDIA_INVALID_OPTION', message })
  }
})

t.test('the CLI says how many files went to static.storage', async (t) => {
  const { bucket, endpoint } = await s3Bucket(t)
  const dir = tempDir(t)
  mkdirSync(join(dir, 'static'))
  writeFileSync(join(dir, 'static', 'site.css'), 'body { color: red }\n')
  const saved = { ...process.env }
  t.teardown(() => { process.env = saved })
  Object.assign(process.env, { CLI_APP_DIR: dir, S3_ENDPOINT: endpoint, S3_BUCKET: bucket })
  const dry: string[] = []
  await main(['collectstatic', join(FIXTURES, 'cli-apps', 's3-static.mjs'), '--dry-run'], { out: (line) => dry.push(line), err: (line) => dry.push(line) })
  t.same(dry, ['Would upload 1 files to static.storage', 'Pretending: 1 copied, 0 unmodified, 1 post-processed'])
  const out: string[] = []
  const code = await main(['collectstatic', join(FIXTURES, 'cli-apps', 's3-static.mjs')], { out: (line) => out.push(line), err: (line) => out.push(line) })
  t.equal(code, 0, out.join('\n'))
  t.same(out, ['Uploaded 1 files to static.storage', '1 copied, 0 unmodified, 1 post-processed'])
})
