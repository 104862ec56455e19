// redisLocker against a real redis-server. Each locker here has its own client, so two lockers stand for two
// processes: nothing but Redis is shared between them (the locker keeps its state per instance).
import t from 'tap'
import { redisLocker, type RedisLockClient } from '../lib/index.js'
import type { Tap } from './helpers.js'
import { within } from './http-helpers.js'
import { startRedis } from './redis-server.js'

const never = (): void => {}
const signal = (): AbortSignal => new AbortController().signal
/** A promise resolved the first time the returned callback is called: a holder asked to release. */
function asked (): { release: () => void, released: Promise<void> } {
  let release = never
  const released = new Promise<void>((resolve) => { release = resolve })
  return { release: () => release(), released }
}
/** What a promise rejected with (a tus error is a plain object, which tap's rejects() does not take). */
const rejection = async (promise: Promise<unknown>): Promise<unknown> => await promise.then(() => 'resolved', (err: unknown) => err)
const LOCK_TIMEOUT = { status_code: 500, body: 'failed to acquire lock before timeout' }
const settled = async (promise: Promise<unknown>): Promise<boolean> => {
  let done = false
  promise.then(() => { done = true }, () => { done = true })
  // a round trip to Redis and back: anything the lock was waiting on has arrived by then
  await new Promise((resolve) => setImmediate(resolve))
  return done
}

/** `holder` takes u1's lock through one locker, `waiter` asks for it through the other and waits. */
async function contend (t: Tap, one: ReturnType<typeof redisLocker>, other: ReturnType<typeof redisLocker>) {
  const holder = one.newLock('u1')
  const first = asked()
  await holder.lock(signal(), first.release)
  const waiter = other.newLock('u1')
  const waiting = waiter.lock(signal(), never)
  await within(first.released, 'the holder asked to release')
  t.notOk(await settled(waiting), 'the waiter does not have the lock while the holder does')
  return { holder, waiter, waiting }
}

t.test('one holder per upload across lockers: a waiter asks the holder to release, and gets the lock when it unlocks', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const { holder, waiter, waiting } = await contend(t, redisLocker(redis.client()), redisLocker(redis.client()))
  t.equal(await redis.client().get('fastify-media:tus:lock:u1') !== null, true, 'the lock is a key in Redis')
  await holder.unlock()
  await within(waiting, 'the waiter getting the lock once it is free')
  const third = redisLocker(redis.client(), { acquireTimeout: 300 }).newLock('u1')
  t.same(await rejection(third.lock(signal(), never)), LOCK_TIMEOUT, 'the lock is the waiter\'s now')
  await waiter.unlock()
})

t.test('locks on different uploads do not wait on each other, through one locker or two', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const a = redisLocker(redis.client(), { acquireTimeout: 2000 })
  const b = redisLocker(redis.client(), { acquireTimeout: 2000 })
  const [one, two, three] = [a.newLock('u1'), a.newLock('u2'), b.newLock('u3')]
  await one.lock(signal(), never)
  await two.lock(signal(), never)
  await three.lock(signal(), never)
  // one released, the other still held in the same locker: its release requests still arrive
  await one.unlock()
  const second = asked()
  await two.unlock()
  const again = a.newLock('u2')
  await again.lock(signal(), second.release)
  const waiting = b.newLock('u2').lock(signal(), never)
  await within(second.released, 'a release request reaching a lock taken after another of its locker was unlocked')
  await again.unlock()
  await waiting
  await three.unlock()
})

t.test('a holder renews its lock: a waiter behind a holder that never releases times out, with @tus/server\'s lock timeout', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  // a ttl a third of the wait: without renewal the lock would lapse to the waiter. Renewal comes every third
  // of the ttl, so only a process stalled for a whole second could lose it (a 60 ms ttl once did, in CI)
  const holder = redisLocker(redis.client(), { ttl: 1000 }).newLock('u1')
  await holder.lock(signal(), never)
  const waiter = redisLocker(redis.client(), { acquireTimeout: 3000 }).newLock('u1')
  t.same(await rejection(waiter.lock(signal(), never)), LOCK_TIMEOUT)
  await holder.unlock()
})

t.test('the lock of a holder whose process died lapses after ttl, and a waiter gets it', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const dying = redis.client()
  const holder = redisLocker(dying, { ttl: 200 }).newLock('u1')
  const lost = asked()
  await holder.lock(signal(), lost.release)
  // the connection gone is what Redis sees of a dead process: no renewal, no unlock
  dying.disconnect()
  await within(lost.released, 'the holder asked to stop writing once it cannot renew')
  const waiter = redisLocker(redis.client()).newLock('u1')
  await within(waiter.lock(signal(), never), 'the waiter getting the lapsed lock', 5000)
  await waiter.unlock()
  // the dead holder's subscriber connection is its own, still open here: close it
  await holder.unlock().catch(() => {})
})

t.test('a holder whose lock was taken from it is asked to stop, and its unlock leaves the new holder\'s lock', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const admin = redis.client()
  const holder = redisLocker(redis.client(), { ttl: 90 }).newLock('u1')
  const lost = asked()
  await holder.lock(signal(), lost.release)
  await admin.del('fastify-media:tus:lock:u1')
  const taker = redisLocker(redis.client()).newLock('u1')
  await taker.lock(signal(), never)
  const taken = await admin.get('fastify-media:tus:lock:u1')
  await within(lost.released, 'the old holder asked to stop at its next renewal')
  await holder.unlock()
  t.equal(await admin.get('fastify-media:tus:lock:u1'), taken, 'the new holder\'s lock is still there')
  await taker.unlock()
  t.equal(await admin.get('fastify-media:tus:lock:u1'), null)
})

t.test('a waiter stops when its request is aborted, without waiting for the timeout', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const holder = redisLocker(redis.client()).newLock('u1')
  await holder.lock(signal(), never)
  const request = new AbortController()
  const waiting = redisLocker(redis.client(), { acquireTimeout: 60_000 }).newLock('u1').lock(request.signal, never)
  request.abort()
  t.same(await rejection(within(waiting, 'the aborted waiter giving up', 5000)), LOCK_TIMEOUT)
  await holder.unlock()
})

t.test('a locker holds no Redis connection of its own while no lock is held or awaited', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const admin = redis.client()
  const subscribers = async (): Promise<number> => (await admin.client('LIST') as string).split('\n').filter((line) => / sub=[1-9]/.test(line)).length
  const locker = redisLocker(redis.client())
  const lock = locker.newLock('u1')
  await lock.lock(signal(), never)
  t.equal(await subscribers(), 1, 'one subscribed connection while a lock is held')
  await lock.unlock()
  t.equal(await subscribers(), 0, 'none once it is unlocked')
})

t.test('redisLocker refuses what is not a Redis client and options out of range, naming the option', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const client = redis.client()
  const code = 'FST_MEDIA_INVALID_OPTION'
  t.throws(() => redisLocker({} as RedisLockClient), { code, message: /redisLocker/ })
  t.throws(() => redisLocker(undefined as unknown as RedisLockClient), { code })
  t.throws(() => redisLocker(client, { ttl: 0 }), { code, message: /redisLocker\.ttl/ })
  t.throws(() => redisLocker(client, { acquireTimeout: 1.5 }), { code, message: /redisLocker\.acquireTimeout/ })
  t.throws(() => redisLocker(client, { prefix: 3 as unknown as string }), { code, message: /redisLocker\.prefix/ })
  t.throws(() => redisLocker(client, { tll: 10 } as object), { code, message: /tll/ })
})

t.test('the prefix option names the keys', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const lock = redisLocker(redis.client(), { prefix: 'app1:' }).newLock('u1')
  await lock.lock(signal(), never)
  t.not(await redis.client().get('app1:lock:u1'), null)
  await lock.unlock()
})

t.test('two requests for one upload in the same process wait on each other as across processes', async (t) => {
  const redis = await startRedis(t)
  if (redis === undefined) return
  const locker = redisLocker(redis.client())
  const { holder, waiter, waiting } = await contend(t, locker, locker)
  await holder.unlock()
  await within(waiting, 'the second request getting the lock')
  await waiter.unlock()
})
