// `fastify-media nginx` and `serve: 'x-accel'` without a running nginx: what the config holds for each kind of
// storage, the CLI's answers, and the x-accel route's refusals (test/nginx.test.ts runs the config in nginx).
import t from 'tap'
import Fastify from 'fastify'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import fastifyMedia, { Disk, FileField, FileSystemStorage, type FastifyMediaOptions } from '../lib/index.js'
import { main } from '../lib/cli/main.js'
import { nginxConfig } from '../lib/nginx/config.js'
import { DirDriver } from './drivers/dir-driver.js'
import { MapDriver } from './drivers/map-driver.js'
import { FIXTURES, tempDir, type Tap } from './helpers.js'
import { BOUNDARY, CLOSING, PART_END, partHead, within } from './http-helpers.js'
import { cli, ROOT } from './cli-run.js'
import { NGINX, testConfig } from './nginx-server.js'

const KEY = 'nginx-config-test-signing-key-0123'
const PDF = readFileSync(join(FIXTURES, 'fixture-minimal.pdf'))

async function configOf (t: Tap, options: FastifyMediaOptions, upstream = '127.0.0.1:3000'): Promise<string> {
  const app = Fastify()
  t.teardown(async () => await app.close())
  await app.register(fastifyMedia, { baseDir: tempDir(t), signingKey: KEY, ...options })
  return nginxConfig(app.media.config, { upstream }).text
}

/** nginx -t of a fragment, where nginx is installed (test/nginx.test.ts fails under CI without it). */
function passesNginxTest (t: Tap, fragment: string): void {
  if (!existsSync(NGINX)) return
  const checked = testConfig(t, fragment)
  t.equal(checked.status, 0, checked.output)
  t.notMatch(checked.output, /\[(warn|emerg)\]/)
}

t.test('a public storage that is not staged: served by nginx, with a warning that files show before their request commits', async (t) => {
  const config = await configOf(t, { static: false })
  t.match(config.replace(/\n# (?!WARNING)/g, ' '), /^# WARNING: media \(the default storage\) is not staged: a file is on disk under its name from the moment it is stored, before its request commits, and nginx serves it then\. Give the storage `staged: true` \(README, Behind nginx\)\.$/m)
  t.ok(config.split('\n').filter((line) => line.startsWith('#')).every((line) => line.length <= 110), 'comments wrapped')
  t.match(config, /location \^~ \/media\/ \{/)
  t.notMatch(config, /location \^~ \/static\//, 'static: false: no static location')
  passesNginxTest(t, config)
})

t.test('a private storage without x-accel is streamed by the app, its internal location ready for x-accel; a storage not on disk is the app\'s', async (t) => {
  const config = await configOf(t, {
    static: false,
    storages: {
      vault: new FileSystemStorage({ location: 'vault', baseUrl: '/vault/', public: false }),
      files: new Disk(new MapDriver(), { baseUrl: '/files/' })
    }
  })
  t.match(config, /^# storages\.vault: private, streamed by the app at \/vault\/; with serve: 'x-accel' nginx sends it from here$/m)
  t.match(config, /location \^~ \/_fastify-media\/vault\/ \{\n {2}internal;/, 'an internal location for the private storage')
  t.match(config, /^# storages\.files: not on disk, streamed by the app$/m)
  t.notMatch(config, /location \^~ \/vault\//, 'no public location: the app answers its URLs')
  t.notMatch(config, /_fastify-media\/files/, 'none for a storage not on disk')
  passesNginxTest(t, config)
})

t.test('static.cors: false sends no Access-Control-Allow-Origin; the upstream is the one given', async (t) => {
  const config = await configOf(t, { media: false, static: { dirs: [], cors: false } }, 'unix:/run/app.sock')
  t.match(config, /location \^~ \/static\/ \{/)
  t.notMatch(config, /Access-Control-Allow-Origin/)
  t.match(config, /proxy_pass http:\/\/unix:\/run\/app\.sock;/)
  passesNginxTest(t, config)
})

t.test('a public x-accel storage: an internal location that keeps the app\'s Cache-Control', async (t) => {
  const config = await configOf(t, { static: false, media: false, storages: { pub: new FileSystemStorage({ location: 'pub', baseUrl: '/pub/', serve: 'x-accel' }) } })
  const start = config.indexOf('location ^~ /_fastify-media/pub/ {\n  internal;')
  t.ok(start >= 0, 'an internal location for the storage')
  const internal = config.slice(start, config.indexOf('\n}\n', start))
  t.match(internal, /add_header x-content-type-options "nosniff" always;/)
  t.notMatch(internal, /cache-control/i, 'Cache-Control is the app\'s answer\'s, not added twice')
  t.notMatch(config, /location \^~ \/pub\//, 'its URLs go to the app, which decides')
  passesNginxTest(t, config)
})

t.test('FileSystemStorage: serve takes true or \'x-accel\', staged a boolean; a misspelt key is refused with the closest', async (t) => {
  t.throws(() => new FileSystemStorage({ location: 'x', serve: 'nginx' as 'x-accel' }), { code: 'FST_MEDIA_INVALID_OPTION', message: /^FileSystemStorage\.serve: must be true or 'x-accel', not "nginx"/ })
  t.throws(() => new FileSystemStorage({ location: 'x', serve: false as true }), { code: 'FST_MEDIA_INVALID_OPTION', message: /^FileSystemStorage\.serve: / })
  t.throws(() => new FileSystemStorage({ location: 'x', staged: 'yes' as unknown as boolean }), { code: 'FST_MEDIA_INVALID_OPTION', message: /^FileSystemStorage\.staged: must be true or false/ })
  t.throws(() => new FileSystemStorage({ location: 'x', stagd: true } as never), { code: 'FST_MEDIA_INVALID_OPTION', message: /^FileSystemStorage\.stagd: unknown option, did you mean staged\?$/ })
  t.throws(() => new FileSystemStorage({ location: 'x', serv: 'x-accel' } as never), { code: 'FST_MEDIA_INVALID_OPTION', message: /^FileSystemStorage\.serv: unknown option, did you mean serve\?$/ })
  t.doesNotThrow(() => new FileSystemStorage({ location: 'x', serve: 'x-accel', staged: true }), 'both keys known')
})

t.test('the x-accel route: a dot path, a name that leaves the root and a file of a request still running are 404, with no X-Accel-Redirect', async (t) => {
  const dir = tempDir(t)
  const storage = new FileSystemStorage({ location: 'pub', baseUrl: '/pub/', serve: 'x-accel' })
  const app = Fastify()
  t.teardown(async () => await app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: false, media: false, storages: { pub: storage } })
  const Doc = app.media.model('doc', {
    doc: FileField({ storage: 'pub', uploadTo: () => 'held/a.pdf', accept: ['application/pdf'] }),
    more: FileField({ storage: 'pub', uploadTo: 'more/', accept: ['application/pdf'], required: false })
  })
  app.post('/upload', { upload: Doc }, async (request, reply) => reply.code(201).send(request.uploads))
  await app.ready()

  for (const url of ['/pub/.tmp/x.pdf', '/pub/a/.hidden', '/pub/%2e%2e/x.pdf', '/pub/']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 404, url)
    t.notOk('x-accel-redirect' in res.headers, `${url}: not handed to nginx`)
  }
  const ok = await app.inject({ url: '/pub/docs/r%20x.pdf' })
  t.equal(ok.headers['x-accel-redirect'], '/_fastify-media/pub/docs/r%20x.pdf', 'handed over, encoded')
  t.equal(ok.headers['content-type'], 'application/pdf')

  // a request whose file is stored under its name while its request has not committed
  const save = storage.save.bind(storage)
  let stored!: () => void
  const firstStored = new Promise<void>((resolve) => { stored = resolve })
  storage.save = async (...args: Parameters<typeof save>) => {
    const name = await save(...args)
    if (name === 'held/a.pdf') stored()
    return name
  }
  let release!: () => void
  const rest = new Promise<void>((resolve) => { release = resolve })
  async function * payload (): AsyncGenerator<Buffer> {
    // the next part's head ends the first file: it is stored while the request waits for the rest
    yield Buffer.concat([partHead('doc', 'a.pdf', 'application/pdf'), PDF, PART_END, partHead('more', 'm.pdf', 'application/pdf')])
    await rest
    yield Buffer.concat([PDF, PART_END, CLOSING])
  }
  const upload = app.inject({ method: 'POST', url: '/upload', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, payload: Readable.from(payload()) })
  await within(firstStored, 'the file stored')
  const pending = await app.inject({ url: '/pub/held/a.pdf' })
  t.equal(pending.statusCode, 404, 'not handed over while its request runs')
  release()
  t.equal((await upload).statusCode, 201)
  t.equal((await app.inject({ url: '/pub/held/a.pdf' })).headers['x-accel-redirect'], '/_fastify-media/pub/held/a.pdf', 'handed over once committed')
})

t.test('fastify-media nginx: the config on stdout, warnings on stderr, usage errors exit 2', async (t) => {
  const dir = tempDir(t)
  process.env.CLI_APP_DIR = dir
  t.teardown(() => { delete process.env.CLI_APP_DIR })
  const run = async (...argv: string[]) => {
    const out: string[] = []
    const err: string[] = []
    const code = await main(argv, { out: (line) => out.push(line), err: (line) => err.push(line) })
    return { code, out: out.join('\n'), err: err.join('\n') }
  }
  const staged = await run('nginx', join('test', 'fixtures', 'cli-apps', 'nginx-app.mjs'), '--upstream', '[::1]:8080')
  t.equal(staged.code, 0, staged.err)
  t.match(staged.out, /proxy_pass http:\/\/\[::1\]:8080;/)
  t.equal(staged.err, '')
  t.notMatch(staged.out, /brotli_static/, 'no .br without --brotli: Debian\'s nginx would refuse the directive')
  const brotli = await run('nginx', join('test', 'fixtures', 'cli-apps', 'nginx-app.mjs'), '--brotli')
  t.match(brotli.out, /location \^~ \/static\/ \{\n(.*\n)*? {2}brotli_static on;\n {2}gzip_static on;/, '--brotli: the .br files for brotli clients')
  if (existsSync(NGINX)) {
    const refused = testConfig(t, brotli.out)
    t.not(refused.status, 0, 'Debian\'s nginx, without ngx_brotli, refuses it (README)')
    t.match(refused.output, /unknown directive "brotli_static"/)
  }
  // the sweep tests' app: the default storage, not staged
  writeFileSync(join(dir, 'referenced.json'), '[]')
  const unstaged = await run('nginx', join('test', 'fixtures', 'cli-apps', 'sweep.mjs'))
  t.equal(unstaged.code, 0, unstaged.err)
  t.match(unstaged.out, /proxy_pass http:\/\/127\.0\.0\.1:3000;/, 'the default upstream')
  t.equal(unstaged.err, 'fastify-media: warning: media (the default storage) is not staged: a file is on disk under its name from the moment it is stored, before its request commits, and nginx serves it then. Give the storage `staged: true` (README, Behind nginx).')
  for (const argv of [['nginx'], ['nginx', 'a.mjs', 'b.mjs'], ['nginx', 'app.mjs', '--upstream', 'http://x:1'], ['nginx', 'app.mjs', '--upstream', 'localhost']]) {
    const res = await run(...argv)
    t.equal(res.code, 2, argv.join(' '))
    t.match(res.err, /Usage: fastify-media <command>/)
  }
})

t.test('Disk: serve: \'x-accel\' needs a driver with a location (nginx sends the files from a directory); serve takes a boolean or \'x-accel\'', async (t) => {
  t.throws(() => new Disk(new MapDriver(), { baseUrl: '/files/', serve: 'x-accel' }), { code: 'FST_MEDIA_INVALID_OPTION', message: /^Disk\.serve: 'x-accel' needs a driver with a location/ })
  t.throws(() => new Disk(new MapDriver(), { serve: 'nginx' as 'x-accel' }), { code: 'FST_MEDIA_INVALID_OPTION', message: /^Disk\.serve: must be true, false or 'x-accel', not "nginx"/ })
  const config = await configOf(t, { static: false, media: false, storages: { files: new Disk(new DirDriver('files'), { baseUrl: '/files/', serve: 'x-accel' }) } })
  t.match(config, /location \^~ \/_fastify-media\/files\/ \{\n {2}internal;/, 'a driver with a location: its internal location')
})

t.test('README\'s config for the demo is what `fastify-media nginx example/main.js` prints (its `# ...` cuts aside), and it passes nginx -t', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const shown = /```nginx\n(# Generated by[\s\S]*?)```/.exec(readme)?.[1]
  if (shown === undefined) return t.fail('README shows the demo\'s config')
  const generated = await cli(['nginx', join('example', 'main.js')])
  t.equal(generated.code, 0, generated.stderr)
  // README's checkout is /srv/app
  const printed = generated.stdout.replaceAll(ROOT, '/srv/app')
  // every line README shows, in order; a `# ...` line stands for lines cut, and only there may lines be missing
  const lines = printed.trimEnd().split('\n')
  let at = 0
  let cut = false
  for (const line of shown.trimEnd().split('\n')) {
    if (line.trim() === '# ...') {
      cut = true
      continue
    }
    const found = lines.indexOf(line, at)
    t.ok(found >= 0 && (cut || found === at), `README's line is printed${cut ? '' : ' next'}: ${line}`)
    if (found >= 0) at = found + 1
    cut = false
  }
  t.equal(at, lines.length, 'README shows the config to its end')
  t.match(generated.stderr, /warning: media \(the default storage\) is not staged/, 'the warning README shows, on stderr')
  passesNginxTest(t, generated.stdout)
})

t.test('the fragment goes into a server block that sets its own client_max_body_size: its upload settings are the app location\'s', async (t) => {
  const config = await configOf(t, {})
  const app = config.slice(config.indexOf('location / {'))
  t.match(app, /^ {2}client_max_body_size 0;$/m, 'no nginx limit on what goes to the app')
  t.match(app, /^ {2}proxy_request_buffering off;$/m, 'streamed to the app as it arrives')
  t.notMatch(config, /^client_max_body_size/m, 'nothing at the server level a server block may set itself')
  passesNginxTest(t, `client_max_body_size 10m;\nproxy_request_buffering on;\n${config}`)
})
