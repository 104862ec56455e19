import type { FastifyInstance } from 'fastify'
import { Server } from 'node:net'
import type { MediaApi } from './plugin-api.js'

// The CLI loads a user's app and must find our config in it. When the app registers fastify-media inside
// its own (not fastify-plugin wrapped) plugin, `app.media` is not visible on the root instance, so each
// registration is also recorded here, for the one app a CLI process loads. Kept on globalThis: the CLI and
// the app may load two copies of this package (a global CLI, the project's own install).
const kInstances = Symbol.for('fastify-media.instances')
const kCli = Symbol.for('fastify-media.cli')

export interface Recorded {
  api: MediaApi
  /** The instance fastify-media was registered on; closing it closes the whole app. */
  instance: FastifyInstance
}

/** Set by the CLI while it loads and uses an app. */
export interface CliState {
  command: string
  /** The stand-in the CLI put on net.Server.prototype.listen: while it is there, nothing in this process can listen. */
  listen: unknown
}

type Holder = typeof globalThis & { [kInstances]?: Recorded[], [kCli]?: CliState }

/** Records an app until it closes: a closed app is no longer one a CLI can use, and is not kept alive here. */
export function recordInstance (recorded: Recorded): void {
  const holder = globalThis as Holder
  holder[kInstances] ??= []
  holder[kInstances].push(recorded)
  recorded.instance.addHook('onClose', async () => {
    holder[kInstances] = recordedInstances().filter((other) => other !== recorded)
  })
}

/** The apps with fastify-media that are not closed, in the order they registered it. */
export function recordedInstances (): readonly Recorded[] {
  return (globalThis as Holder)[kInstances] ?? []
}

export function setCliState (state: CliState | undefined): void {
  (globalThis as Holder)[kCli] = state
}

/**
 * The CLI command loading the app, or undefined. Only while the CLI's guard holds net.Server's listen, so the
 * relaxations it allows (no signingKey, no storage connection) can never reach a server that listens.
 */
export function cliCommand (): string | undefined {
  const state = (globalThis as Holder)[kCli]
  return state !== undefined && Server.prototype.listen === state.listen ? state.command : undefined
}
