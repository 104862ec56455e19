import type * as Bullmq from 'bullmq'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'

/** What the BullMQ adapter uses of the package. */
export type BullmqModule = Pick<typeof Bullmq, 'Queue' | 'Worker' | 'UnrecoverableError'>

/**
 * bullmq is an optional peer dependency: loaded only when a `bullmqVariantQueue` is started or given a job,
 * with the install command in the message when it is missing.
 */
export async function loadBullmq (load = async (specifier: string): Promise<unknown> => await import(specifier)): Promise<BullmqModule> {
  try {
    return await load('bullmq') as BullmqModule
  } catch {
    throw new FST_MEDIA_INVALID_OPTION('bullmqVariantQueue', 'needs bullmq: npm install bullmq')
  }
}
