import { randomUUID } from 'node:crypto'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'
import { keysOf, knownKeys } from '../check-keys.js'
import { RedisChannels, type RedisSubscriber } from './redis-channels.js'

/** The commands of a Redis client the locker sends (an ioredis `Redis` has them). */
export interface RedisLockClient {
  set (key: string, value: string, px: 'PX', milliseconds: number, nx: 'NX'): Promise<string | null>
  eval (script: string, keys: number, ...args: Array<string | number>): Promise<unknown>
  publish (channel: string, message: string): Promise<number>
  /** A second connection, for the release requests (a subscribed connection sends no other command). */
  duplicate (): RedisSubscriber
}

export interface RedisLockerOptions {
  /**
   * Milliseconds a lock lives unless its holder renews it (it does, every third of this): how long a
   * process that died holding an upload's lock keeps others from it. Default 10000.
   */
  ttl?: number
  /** Milliseconds a request waits for an upload's lock before it fails (500, as @tus/server's MemoryLocker). Default 30000. */
  acquireTimeout?: number
  /** The prefix of the locker's keys and channels, for apps that share one Redis. Default `'fastify-media:tus:'`. */
  prefix?: string
}

/** @tus/utils' `Lock`, without importing @tus/utils (an optional peer). */
export interface RedisLock {
  lock (stopSignal: AbortSignal, requestRelease: () => unknown): Promise<void>
  unlock (): Promise<void>
}

/** What @tus/server answers when a lock does not come in time: its own ERR_LOCK_TIMEOUT. */
const LOCK_TIMEOUT = Object.freeze({ status_code: 500, body: 'failed to acquire lock before timeout' })

// delete or extend the lock only while it is still this holder's (it may have lapsed and gone to another)
const UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]); redis.call('publish', ARGV[2], 'free') end return 0"
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"

const OPTIONS = knownKeys(keysOf<RedisLockerOptions>()(['ttl', 'acquireTimeout', 'prefix']))

function milliseconds (options: RedisLockerOptions, key: 'ttl' | 'acquireTimeout', otherwise: number): number {
  const value = options[key] ?? otherwise
  if (!Number.isInteger(value) || value < 1) throw new FST_MEDIA_INVALID_OPTION(`redisLocker.${key}`, 'must be whole milliseconds, at least 1')
  return value
}

/**
 * A @tus/utils `Locker` over Redis, for several processes serving one upload endpoint: one holder per
 * upload across them (SET NX with a TTL the holder renews), a waiting request asks the holder to stop (a
 * message on the upload's channel, which @tus/server's holder answers by ending its PATCH where it is), and
 * the holder's unlock wakes the waiters. A holder that dies lets its lock lapse after `ttl`.
 */
export function redisLocker (redis: RedisLockClient, options: RedisLockerOptions = {}): { newLock (id: string): RedisLock } {
  if (typeof redis?.set !== 'function' || typeof redis.eval !== 'function' || typeof redis.duplicate !== 'function') {
    throw new FST_MEDIA_INVALID_OPTION('redisLocker', 'needs a Redis client (an ioredis Redis)')
  }
  OPTIONS.check(options, 'redisLocker')
  const ttl = milliseconds(options, 'ttl', 10_000)
  const acquireTimeout = milliseconds(options, 'acquireTimeout', 30_000)
  const { prefix = 'fastify-media:tus:' } = options
  if (typeof prefix !== 'string') throw new FST_MEDIA_INVALID_OPTION('redisLocker.prefix', 'must be a string')
  const channels = new RedisChannels(() => redis.duplicate())
  // a lapsed lock sends no message: waiters also try again on this beat
  const retryEvery = Math.min(ttl, 1000)

  return {
    newLock (id: string): RedisLock {
      const key = `${prefix}lock:${id}`
      const channel = `${prefix}${id}`
      const token = randomUUID()
      let renewal: NodeJS.Timeout | undefined
      let held = false
      let wake: (() => void) | undefined
      let listening: (() => Promise<void>) | undefined
      const stopListening = async (): Promise<void> => {
        const stop = listening
        listening = undefined
        await stop?.()
      }

      return {
        async lock (stopSignal, requestRelease) {
          listening = await channels.listen(channel, (message) => {
            if (message === 'release' && held) requestRelease()
            else if (message === 'free') wake?.()
          })
          const deadline = Date.now() + acquireTimeout
          while (await redis.set(key, token, 'PX', ttl, 'NX') === null) {
            if (stopSignal.aborted || Date.now() >= deadline) {
              await stopListening()
              throw LOCK_TIMEOUT
            }
            await redis.publish(channel, 'release')
            await new Promise<void>((resolve) => {
              const done = (): void => { clearTimeout(timer); stopSignal.removeEventListener('abort', done); resolve() }
              const timer = setTimeout(done, Math.min(retryEvery, Math.max(0, deadline - Date.now())))
              stopSignal.addEventListener('abort', done)
              wake = done
            })
          }
          held = true
          renewal = setInterval(() => {
            // a lock found gone (lapsed while Redis or this process stalled), or Redis gone, is no longer this request's to write under
            redis.eval(RENEW, 1, key, token, ttl).catch(() => 0).then((kept) => { if (kept === 0 && held) requestRelease() })
          }, Math.ceil(ttl / 3)).unref()
        },

        async unlock () {
          held = false
          clearInterval(renewal)
          await stopListening()
          await redis.eval(UNLOCK, 1, key, token, channel)
        }
      }
    }
  }
}
