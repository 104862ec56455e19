import t from 'tap'
import { forEachLimited } from '../lib/concurrency.js'

// forEachLimited is what collectstatic copies, compresses and uploads files with; it shares Slots (tested in
// image-variants-model.test.ts) with the image work.

/** A job per item that runs until released by hand, so the test decides when each one ends. */
function held (count: number) {
  const started: number[] = []
  const release: Array<(failure?: Error) => void> = []
  let running = 0
  let peak = 0
  const work = async (item: number): Promise<void> => {
    running++
    peak = Math.max(peak, running)
    started.push(item)
    const failure = await new Promise<Error | undefined>((resolve) => { release[item] = resolve })
    running--
    if (failure !== undefined) throw failure
  }
  return { items: Array.from({ length: count }, (_, i) => i), started, release, work, peak: () => peak }
}

/** Lets every settled promise's continuations run (a macrotask turn after the microtasks). */
const settle = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

t.test('forEachLimited: at most `limit` items at once, each started once, in order, as others end', async (t) => {
  const { items, started, release, work, peak } = held(7)
  const all = forEachLimited(items, 3, work)
  await settle()
  t.same(started, [0, 1, 2], 'the first three start')
  release[1]!()
  await settle()
  t.same(started, [0, 1, 2, 3], 'one ends, the next starts')
  for (const item of [0, 2, 3, 4, 5, 6]) {
    release[item]!()
    await settle()
  }
  await all
  t.same(started, items, 'every item once, in order')
  t.equal(peak(), 3)
})

t.test('forEachLimited: rejects with the first failure; the items already started still end', async (t) => {
  const { items, started, release, work } = held(4)
  const all = forEachLimited(items, 2, work)
  await settle()
  const failure = new Error('item 0 fails')
  release[0]!(failure)
  await t.rejects(all, failure)
  await settle()
  t.same(started, [0, 1, 2], 'the failure freed its slot for the next item')
  release[1]!()
  release[2]!()
  await settle()
  release[3]!()
  await settle()
  t.same(started, items)
})

t.test('forEachLimited: nothing to do resolves at once', async (t) => {
  let called = false
  await forEachLimited([], 4, async () => { called = true })
  t.notOk(called)
})
