import type { FastifyInstance } from 'fastify'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { MediaApi } from '../plugin-api.js'
import { recordedInstances } from '../registry.js'

export class CliError extends Error {}

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
  let app: FastifyInstance
  if (exported.length === 0) {
    app = await (exported as () => FastifyInstance | Promise<FastifyInstance>)()
    if (typeof app?.ready !== 'function') throw new CliError(`${modulePath}: its default export takes no parameters, so it should return a Fastify app`)
  } else {
    const { default: Fastify } = await import('fastify')
    app = Fastify()
    await app.register(exported as Parameters<FastifyInstance['register']>[0])
  }
  await app.ready()
  // the root sees app.media only when fastify-media is registered on it or through fastify-plugin
  const media = (app as { media?: MediaApi }).media ?? recordedInstances().slice(before).at(-1)
  if (media === undefined) {
    await app.close()
    throw new CliError(`${modulePath}: the app does not register fastify-media`)
  }
  return { app, media }
}
