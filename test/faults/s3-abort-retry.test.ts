import t from 'tap'
import { ABORT_RETRY_DELAYS, MultipartAborts } from '../../lib/storage/s3-abort.js'

/** MultipartAborts with the clock in the test's hands: each retry waits in `due` until the test runs it. */
function driven (results: boolean[]) {
  const calls: string[] = []
  const due: Array<{ retry: () => Promise<void>, delay: number }> = []
  const aborts = new MultipartAborts(async (key, uploadId) => {
    calls.push(`${key} ${uploadId}`)
    if (results.shift() !== true) throw new Error('S3 is down')
  }, (retry, delay) => due.push({ retry, delay }))
  return { aborts, calls, due }
}

t.test('a failed abort is tried again after each backoff delay until it succeeds', async (t) => {
  const { aborts, calls, due } = driven([false, false, true])
  await aborts.abort('docs/a.pdf', 'u1')
  t.same(calls, ['docs/a.pdf u1'], 'tried at once, and abort() resolved although it failed')
  t.same(due.map((d) => d.delay), [1000], 'the next try waits 1 s')
  await due.shift()!.retry()
  t.same(due.map((d) => d.delay), [2000], 'then 2 s')
  await due.shift()!.retry()
  t.equal(calls.length, 3)
  t.same(due, [], 'aborted: nothing more is scheduled')
})

t.test('the tries are bounded: after the last delay, no more', async (t) => {
  const { aborts, calls, due } = driven([])
  await aborts.abort('k', 'u')
  const delays = []
  while (due.length > 0) {
    const next = due.shift()!
    delays.push(next.delay)
    await next.retry()
  }
  t.same(delays, ABORT_RETRY_DELAYS, '1 s doubling to 1 min')
  t.equal(calls.length, ABORT_RETRY_DELAYS.length + 1, 'one try at once, one after each delay')
})

t.test('flush (the app closes): each abort waiting for its next try is tried once more, with a signal; a retry still due afterwards does nothing, and nothing is scheduled after', async (t) => {
  const signals: Array<AbortSignal | undefined> = []
  const calls: string[] = []
  const due: Array<() => Promise<void>> = []
  const aborts = new MultipartAborts(async (key, uploadId, signal) => {
    calls.push(`${key} ${uploadId}`)
    signals.push(signal)
    throw new Error('S3 is down')
  }, (retry) => due.push(retry))
  await aborts.abort('a', 'u1')
  await aborts.abort('b', 'u2')
  t.equal(due.length, 2)
  await aborts.flush(50)
  t.same(calls.slice(2), ['a u1', 'b u2'], 'both tried once more')
  t.ok(signals[2] instanceof AbortSignal, 'with a signal bounding the try')
  await Promise.all(due.splice(0).map(async (retry) => await retry()))
  t.equal(calls.length, 4, 'the timers that were due do nothing')
  await aborts.abort('c', 'u3')
  t.same(due, [], 'after the flush, a failed abort is not scheduled again')
  await aborts.flush()
  t.equal(calls.length, 5, 'a second flush has nothing to try')
})
