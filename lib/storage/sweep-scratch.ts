import type { FastifyInstance } from 'fastify'
import type { Storage } from './storage.js'

/** Sweeps at most once a second (an uploadTimeout of a few ms would spin) and at least once an hour. */
const PERIOD = { min: 1000, max: 60 * 60 * 1000 }

/**
 * Removes what saves cut off by a crash left in the storages' scratch (`.tmp/`): once when the app is
 * ready (before it serves), then every `uploadTimeout` on an unref'd timer cleared at close. A live
 * request is cut off by its uploadTimeout, so a scratch file untouched for that long belongs to none, in
 * this process or in another one sharing the root. With `uploadTimeout: 0` no age is safe: no sweep.
 * Two sweeps that overlap (a slow disk) are harmless: a file one of them removed is skipped by the other.
 */
export function sweepScratch (app: FastifyInstance, storages: ReadonlyMap<string, Storage>, uploadTimeout: number): void {
  if (uploadTimeout === 0) return
  const sweep = async (): Promise<void> => {
    for (const [storage, it] of storages) {
      try {
        const removed = await it.sweepScratch?.(uploadTimeout)
        if (removed !== undefined && removed.length > 0) app.log.info({ storage, removed }, 'fastify-media: removed scratch files a crashed save left')
      } catch (err) {
        app.log.error({ err, storage }, 'fastify-media: sweeping scratch files failed')
      }
    }
  }
  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    await sweep()
    timer = setInterval(sweep, Math.min(Math.max(uploadTimeout, PERIOD.min), PERIOD.max))
    timer.unref()
  })
  app.addHook('onClose', async () => { clearInterval(timer) })
}
