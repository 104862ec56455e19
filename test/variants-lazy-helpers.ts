// Helpers of the tests of variants made after their upload (lazy, background): a storage that counts
// the reads of originals, and the variants announced on `fastify-media:stored`.
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type { Readable } from 'node:stream'
import { FileSystemStorage, type ByteRange, type StoredMessage } from '../lib/index.js'
import { within } from './http-helpers.js'
import type { Tap } from './helpers.js'

/** A FileSystemStorage that counts how often each name is opened (an original is read to make a variant). */
export class CountingStorage extends FileSystemStorage {
  readonly opened = new Map<string, number>()

  override open (name: string, range?: ByteRange): Readable {
    this.opened.set(name, (this.opened.get(name) ?? 0) + 1)
    return super.open(name, range)
  }
}

/** Every message on `fastify-media:stored` while the test runs, and a wait for the next that matches. */
export function storedMessages (t: Tap): { messages: StoredMessage[], next: (match: (message: StoredMessage) => boolean) => Promise<StoredMessage> } {
  const messages: StoredMessage[] = []
  const waiters = new Set<{ match: (message: StoredMessage) => boolean, resolve: (message: StoredMessage) => void }>()
  const onMessage = (message: unknown): void => {
    messages.push(message as StoredMessage)
    for (const waiter of waiters) {
      if (waiter.match(message as StoredMessage)) {
        waiters.delete(waiter)
        waiter.resolve(message as StoredMessage)
      }
    }
  }
  subscribe('fastify-media:stored', onMessage)
  t.teardown(() => { unsubscribe('fastify-media:stored', onMessage) })
  return {
    messages,
    next: async (match) => await within(new Promise((resolve) => { waiters.add({ match, resolve }) }), 'a stored message')
  }
}
