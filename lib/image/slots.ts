import { availableParallelism } from 'node:os'
import { Slots } from '../concurrency.js'

/**
 * Image work holds a slot, so a burst of uploads queues instead of decoding (and holding in memory) every
 * image at once. One per process: sharp's own thread pool is per process too.
 */
export const imageSlots = new Slots(Math.max(1, availableParallelism()))
