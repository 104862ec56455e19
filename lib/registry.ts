import type { FastifyInstance } from 'fastify'
import type { MediaApi } from './plugin-api.js'

// The CLI loads a user's app and must find our config in it. When the app registers fastify-media inside
// its own (not fastify-plugin wrapped) plugin, `app.media` is not visible on the root instance, so each
// registration is also recorded here, for the one app a CLI process loads.
const kInstances = Symbol.for('fastify-media.instances')

export interface Recorded {
  api: MediaApi
  /** The instance fastify-media was registered on; closing it closes the whole app. */
  instance: FastifyInstance
}

type Holder = typeof globalThis & { [kInstances]?: Recorded[] }

export function recordInstance (recorded: Recorded): void {
  const holder = globalThis as Holder
  holder[kInstances] ??= []
  holder[kInstances].push(recorded)
}

export function recordedInstances (): readonly Recorded[] {
  return (globalThis as Holder)[kInstances] ?? []
}
