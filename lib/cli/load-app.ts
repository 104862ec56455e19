import type { FastifyInstance } from 'fastify'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { MediaApi } from '../plugin-api.js'
import { recordedInstances, type Recorded } from '../registry.js'
import type { NoListen } from './no-listen.js'

export class CliError extends Error {}

const CLOSE_TIMEOUT = 5000

export interface LoadedApp {
  app: FastifyInstance
  media: MediaApi
  /** Closes every app the module started (their onClose hooks release pools and timers). */
  close: () => Promise<void>
}

const SHAPES = 'write it like the Quick start (`await app.register(fastifyMedia, {...})` at the top level, then ' +
  '`await app.listen()`), or default-export a plugin, or a function of no parameters returning an app'

const isApp = (value: unknown): value is FastifyInstance =>
  typeof (value as FastifyInstance)?.ready === 'function' && typeof (value as FastifyInstance)?.close === 'function'

/**
 * Loads a user's app module and makes its app ready, with no port opened (`guard` turns `listen` into a
 * no-op). Which app, in this order:
 * 1. the module's top level made an app with fastify-media listen: that one (the usual server module);
 * 2. the default export: a function of no parameters is a factory returning an app; any other function is
 *    a plugin, registered on a fresh Fastify (as fastify-cli does);
 * 3. the module registered fastify-media at its top level without listening: that app.
 * Everything must be done within `timeout` ms: a module whose top level never settles is cut.
 */
export async function loadApp (modulePath: string, guard: NoListen, timeout: number): Promise<LoadedApp> {
  // by identity, not position: the registry forgets an app when it closes, which moves the ones after it
  const before = new Set(recordedInstances())
  const started = (): readonly Recorded[] => recordedInstances().filter((recorded) => !before.has(recorded))

  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new CliError(`${modulePath}: the app was not ready within ${timeout} ms (a top-level await that never settles?); ` +
      'raise --timeout if it is only slow')), timeout)
  })
  deadline.catch(() => {})
  let listenedApp!: (value: { listened: true }) => void
  const listened = new Promise<{ listened: true }>((resolve) => { listenedApp = resolve })
  const stopWaiting = guard.onListen((server) => {
    if (started().some((recorded) => recorded.instance.server === server)) listenedApp({ listened: true })
  })
  const imported = import(pathToFileURL(resolve(modulePath)).href).then(
    (module: { default?: unknown }) => ({ module }),
    (err: Error) => { throw new CliError(`cannot load ${modulePath}: ${err.message}`) })
  // once its app listened, the rest of the module's top level is not waited for: its failure is ignored
  imported.catch(() => {})

  let app: FastifyInstance | undefined
  let media: MediaApi | undefined
  try {
    const first = await Promise.race([listened, imported, deadline])
    if (!('listened' in first) && typeof first.module.default !== 'function' && started().length === 0) {
      // Fastify's own shapes call listen() without awaiting it (a callback, an un-awaited start()): the import
      // resolves before fastify-media is even registered, so wait for that listen, within the deadline
      await Promise.race([listened, deadline.catch(() => {
        throw new CliError(`${modulePath} made no app with fastify-media and has no default export: ${SHAPES} (waited ${timeout} ms for one to listen)`)
      })])
    }
    const serving = started().find((recorded) => guard.servers.has(recorded.instance.server))
    if (serving !== undefined) {
      // listen() readied it; ready() again on an encapsulated instance trips avvio (a TDZ error)
      ({ instance: app, api: media } = serving)
    } else {
      app = await Promise.race([fromModule(modulePath, (first as { module: { default?: unknown } }).module, started), deadline])
      await Promise.race([app.ready(), deadline])
    }
  } catch (err) {
    await closeAll([app, ...started().map((recorded) => recorded.instance)])
    throw err
  } finally {
    clearTimeout(timer)
    stopWaiting()
  }
  // the root sees app.media only when fastify-media is registered on it or through fastify-plugin
  media ??= (app as { media?: MediaApi }).media ?? started().at(-1)?.api
  const close = async (): Promise<void> => await closeAll([app, ...started().map((recorded) => recorded.instance)])
  if (media === undefined) {
    await close()
    throw new CliError(`${modulePath}: the app does not register fastify-media`)
  }
  return { app, media, close }
}

async function fromModule (modulePath: string, module: { default?: unknown }, started: () => readonly Recorded[]): Promise<FastifyInstance> {
  const exported = module.default
  if (typeof exported === 'function') {
    if (exported.length === 0) {
      const made = (exported as () => unknown)()
      // an app is thenable (awaiting it runs ready()): only a Promise of one is awaited
      const resolved = isApp(made) ? made : await made
      if (!isApp(resolved)) throw new CliError(`${modulePath}: its default export takes no parameters, so it should return a Fastify app`)
      return resolved
    }
    const { default: Fastify } = await import('fastify')
    const app = Fastify()
    await app.register(exported as Parameters<FastifyInstance['register']>[0])
    return app
  }
  // loadApp comes here without a default export only once the module has registered fastify-media
  return started().at(-1)!.instance
}

/** Closes apps, each once; their errors are their own business, and an onClose hook that hangs is not waited for. */
async function closeAll (apps: Array<FastifyInstance | undefined>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.all([...new Set(apps)].filter(isApp).map(async (app) => await app.close().catch(() => {}))),
    new Promise((resolve) => { timer = setTimeout(resolve, CLOSE_TIMEOUT) })
  ])
  clearTimeout(timer)
}
