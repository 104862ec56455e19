import type { MediaApi } from './plugin-api.js'

// The CLI loads a user's app and must find our config in it. When the app registers fastify-media inside
// its own (not fastify-plugin wrapped) plugin, `app.media` is not visible on the root instance, so each
// registration is also recorded here, for the one app a CLI process loads.
const kInstances = Symbol.for('fastify-media.instances')
type Holder = typeof globalThis & { [kInstances]?: MediaApi[] }

export function recordInstance (api: MediaApi): void {
  const holder = globalThis as Holder
  holder[kInstances] ??= []
  holder[kInstances].push(api)
}

export function recordedInstances (): readonly MediaApi[] {
  return (globalThis as Holder)[kInstances] ?? []
}
