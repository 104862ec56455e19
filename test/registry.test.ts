import t from 'tap'
import Fastify from 'fastify'
import fastifyMedia from '../lib/index.js'
import { recordedInstances } from '../lib/registry.js'
import { tempDir } from './helpers.js'

// The registry is how the CLI finds fastify-media in a loaded app; it lives on globalThis, so what it keeps
// lives as long as the process.

const ours = (apps: unknown[]): unknown[] => recordedInstances().map(({ instance }) => instance).filter((instance) => apps.includes(instance))

t.test('the registry lists the apps that are open: a closed one is forgotten, the other kept', async (t) => {
  const first = Fastify()
  const second = Fastify()
  t.teardown(async () => await Promise.all([first.close(), second.close()]))
  await first.register(fastifyMedia, { baseDir: tempDir(t), static: false })
  await second.register(fastifyMedia, { baseDir: tempDir(t), static: false })
  t.same(ours([first, second]), [first, second], 'both recorded, in order')
  await first.close()
  t.same(ours([first, second]), [second], 'only the open one')
  await second.close()
  t.same(ours([first, second]), [], 'none once both closed')
})

t.test('fastify-media inside an encapsulated plugin is forgotten when its app closes', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  let child: unknown
  await app.register(async function routes (instance) {
    await instance.register(fastifyMedia, { baseDir: tempDir(t), static: false })
    child = instance
  })
  await app.ready()
  t.same(ours([child]), [child], 'the plugin\'s instance is recorded')
  await app.close()
  t.same(ours([child]), [], 'forgotten with its app')
})
