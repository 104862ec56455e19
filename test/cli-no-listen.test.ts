// The CLI's guard, in-process: while it is in place no server listens, and the plugin's relaxations hold
// only while it is (the CLI processes themselves are tested in cli-app-shape.test.ts).
import t from 'tap'
import { once } from 'node:events'
import { createServer, Server } from 'node:net'
import { NoListen } from '../lib/cli/no-listen.js'
import { cliCommand } from '../lib/registry.js'

t.test('under the guard a server "listens" at once without a port, and the CLI hears of it', async (t) => {
  const original = Server.prototype.listen
  const guard = new NoListen('collectstatic')
  t.teardown(() => guard.leave())
  t.equal(process.env.FASTIFY_MEDIA_CLI, 'collectstatic', 'the app module can see the command')
  t.equal(cliCommand(), 'collectstatic')
  const heard: Server[] = []
  const stop = guard.onListen((server) => heard.push(server))
  const server = createServer()
  let called = false
  server.listen(0, '127.0.0.1', () => { called = true })
  await once(server, 'listening')
  t.ok(called, 'a callback given to listen() is called')
  t.equal(server.address(), '(not listening: fastify-media collectstatic)')
  t.equal(server.listening, false, 'no handle: nothing bound')
  t.same(heard, [server])
  t.ok(guard.servers.has(server))
  stop()
  createServer().listen(0)
  t.equal(heard.length, 1, 'a waiter that stopped hears nothing more')
  guard.leave()
  t.equal(Server.prototype.listen, original, 'leave() puts listen back')
  t.equal(cliCommand(), undefined)
  t.equal(process.env.FASTIFY_MEDIA_CLI, undefined)
})

t.test('the relaxations end the moment listen is no longer the guard\'s; leave() restores an earlier FASTIFY_MEDIA_CLI', async (t) => {
  process.env.FASTIFY_MEDIA_CLI = 'set by hand'
  t.teardown(() => { delete process.env.FASTIFY_MEDIA_CLI })
  t.equal(cliCommand(), undefined, 'the variable alone relaxes nothing')
  const guard = new NoListen('findstatic')
  const theirs = Server.prototype.listen
  Server.prototype.listen = function (this: Server, ...args: Parameters<Server['listen']>) { return theirs.apply(this, args) } as Server['listen']
  t.equal(cliCommand(), undefined, 'another listen in place: no relaxation')
  Server.prototype.listen = theirs
  t.equal(cliCommand(), 'findstatic')
  guard.leave()
  t.equal(process.env.FASTIFY_MEDIA_CLI, 'set by hand')
})

t.test('under the guard the plugin needs no signingKey for a private storage and contacts no storage; static.storage is still readied', async (t) => {
  const { default: Fastify } = await import('fastify')
  const { default: fastifyMedia, MemoryStorage } = await import('../lib/index.js')
  const { tempDir } = await import('./helpers.js')
  const readied: string[] = []
  const storage = (name: string, options: { public?: boolean } = {}) =>
    Object.assign(new MemoryStorage(options), { ready: async () => { readied.push(name) } })
  const options = () => ({
    baseDir: tempDir(t),
    storages: { private: storage('private', { public: false }), default: storage('default') },
    static: { storage: storage('static') }
  })

  const outside = Fastify()
  t.teardown(() => outside.close())
  await t.rejects(async () => await outside.register(fastifyMedia, options()), { code: 'FST_MEDIA_INVALID_OPTION', message: /storages\.private: a private storage needs signingKey/ }, 'outside the CLI the key is required')
  process.env.FASTIFY_MEDIA_CLI = 'collectstatic'
  const byHand = Fastify()
  t.teardown(() => byHand.close())
  await t.rejects(async () => await byHand.register(fastifyMedia, options()), { code: 'FST_MEDIA_INVALID_OPTION' }, 'FASTIFY_MEDIA_CLI set by hand relaxes nothing')
  delete process.env.FASTIFY_MEDIA_CLI

  const guard = new NoListen('collectstatic')
  t.teardown(() => guard.leave())
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, options())
  await app.ready()
  t.same(readied, ['static'], 'only static.storage (collectstatic uploads to it) was readied')
  t.ok(app.media, 'registered')
})

t.test('a Fastify app under the guard: listen() resolves once ready, onListen hooks run, nothing is bound', async (t) => {
  const { default: Fastify } = await import('fastify')
  const guard = new NoListen('findstatic')
  t.teardown(() => guard.leave())
  const app = Fastify()
  t.teardown(() => app.close())
  const seen: unknown[] = []
  app.addHook('onListen', async function () { seen.push(app.server.address()) })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  t.equal(address, '(not listening: fastify-media findstatic)')
  t.same(seen, ['(not listening: fastify-media findstatic)'], 'onListen ran, with a string address')
  t.equal(app.server.listening, false)
  t.ok(guard.servers.has(app.server))
})
