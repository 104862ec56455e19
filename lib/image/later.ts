import type { ImageFile } from '../fields/field-file.js'
import type { Storage } from '../storage/storage.js'
import { storageName } from '../events.js'
import type { VariantMaker } from './on-demand.js'
import { plannedSize, type OriginalSize } from './planned-size.js'
import type { ResolvedVariant } from './variant-options.js'

// Storages serve one live app at a time (Storage.attach): its maker is the one that makes their later variants.
const makers = new WeakMap<Storage, VariantMaker>()

export function attachMaker (storage: Storage, maker: VariantMaker): void {
  makers.set(storage, maker)
}

export function detachMaker (storage: Storage, maker: VariantMaker): void {
  if (makers.get(storage) === maker) makers.delete(storage)
}

/** A variant's URL: a later one's may be the app's route that makes it (see VariantMaker.url). */
export function variantUrl (storage: Storage, name: string, variant: ResolvedVariant): string | Promise<string> {
  const maker = variant.generation === 'upload' ? undefined : makers.get(storage)
  return maker === undefined ? storage.url(name) : maker.url(storage, name)
}

/** What a later variant's file knows before it is made: how to plan its size. */
interface Plan {
  variant: ResolvedVariant
  autoOrient: boolean
}
const plans = new WeakMap<object, Plan>()

export function planVariant (file: ImageFile<never, any, any>, variant: ResolvedVariant, autoOrient: boolean): void {
  plans.set(file, { variant, autoOrient })
}

/**
 * Measures a variant of a loaded image whose header is `original`: from the storage when it is there; a
 * later variant not made yet gets its planned size and no byte size (nothing is stored yet).
 */
export async function statVariant (file: ImageFile<never, any, any>, original: OriginalSize): Promise<void> {
  const plan = plans.get(file)
  if (plan !== undefined && !await file.storage.exists(file.name)) {
    const { width, height } = plannedSize(original, plan.variant, plan.autoOrient)
    Object.assign(file, { width, height, url: await file.url })
    return
  }
  await file.stat()
}

// The background variants made for an upload, queued once its request (or field.save()) has committed, never before.
const waiting = new WeakMap<object, Storage>()

export function queueAfterCommit (variantFile: ImageFile<never, any, any>): void {
  waiting.set(variantFile, variantFile.storage)
}

/** Hands the background variants of committed files (`req.uploads` values, or one saved file) to their app's queue. */
export function queueLater (files: Iterable<unknown>): void {
  for (const file of files) {
    const variants = Object.values((file as { variants?: Record<string, ImageFile<never, any, any>> } | null)?.variants ?? {})
    for (const variant of variants) {
      const storage = waiting.get(variant)
      if (storage === undefined) continue
      waiting.delete(variant)
      makers.get(storage)?.enqueue({ storage: storageName(storage) as string, name: variant.name })
    }
  }
}
