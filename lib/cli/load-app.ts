import type { FastifyInstance } from 'fastify'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { MediaApi } from '../plugin-api.js'
import { recordedInstances } from '../registry.js'

export class CliError extends Error {}

const isApp = (value: unknown): value is FastifyInstance =>
  typeof (value as FastifyInstance)?.ready === 'function' && typeof (value as FastifyInstance)?.close === 'function'

/**
 * Loads a user's app module the way fastify-cli does, and makes it ready without listening: a default
 * export with no parameters is a factory returning an app; any other function is a plugin, registered on
 * a fresh Fastify.
 */
export async function loadApp (modulePath: string): Promise<{ app: FastifyInstance, media: MediaApi }> {
  const url = pathToFileURL(resolve(modulePath)).href
  let module: { default?: unknown }
  try {
    module = await import(url)
  } catch (err) {
    throw new CliError(`cannot load ${modulePath}: ${(err as Error).message}`)
  }
  const exported = module.default
  if (typeof exported !== 'function') throw new CliError(`${modulePath} has no default export that is a plugin or a function returning an app`)
  const before = recordedInstances().length
  let app: FastifyInstance | undefined
  try {
    if (exported.length === 0) {
      const made = (exported as () => unknown)()
      // an app is thenable (awaiting it runs ready()): only a Promise of one is awaited
      const resolved = isApp(made) ? made : await made
      if (!isApp(resolved)) throw new CliError(`${modulePath}: its default export takes no parameters, so it should return a Fastify app`)
      app = resolved
    } else {
      const { default: Fastify } = await import('fastify')
      app = Fastify()
      await app.register(exported as Parameters<FastifyInstance['register']>[0])
    }
    await app.ready()
  } catch (err) {
    // its onClose hooks release what it opened (timers, pools): without them the process would not end
    const started = [app, ...recordedInstances().slice(before).map((recorded) => recorded.instance)]
    await Promise.all(started.filter(isApp).map(async (instance) => await instance.close().catch(() => {})))
    throw err
  }
  // the root sees app.media only when fastify-media is registered on it or through fastify-plugin
  const media = (app as { media?: MediaApi }).media ?? recordedInstances().slice(before).at(-1)?.api
  if (media === undefined) {
    await app.close()
    throw new CliError(`${modulePath}: the app does not register fastify-media`)
  }
  return { app, media }
}
