import { channel } from 'node:diagnostics_channel'
import type { FastifyRequest } from 'fastify'
import type { RefusalDetails } from './refusal.js'
import type { Storage } from './storage/storage.js'

/**
 * What fastify-media publishes on `node:diagnostics_channel` (README "Events"). Payloads are plain objects,
 * built only when a channel has subscribers: nobody pays for what nobody listens to.
 */
export const storedChannel = channel('fastify-media:stored')
export const refusedChannel = channel('fastify-media:refused')
export const deletedChannel = channel('fastify-media:deleted')

/** A file kept: its request succeeded, or `field.save()` resolved. One message per file, variants included. */
export interface StoredMessage {
  storage: string | undefined
  name: string
  model: string
  field: string
  /** The variant's key for a resized copy; undefined for the uploaded file itself. */
  variant: string | undefined
  size: number
  contentType: string
  request: FastifyRequest | undefined
}

/** An upload refused: one message per refused request or `field.save()`. */
export interface RefusedMessage extends RefusalDetails {
  code: string
  statusCode: number
  message: string
  model: string
  request: FastifyRequest | undefined
}

export type DeleteReason = 'FieldFile.delete' | 'Model.delete' | 'Model.replace' | 'sweep'

/** Why and from where a file is deleted. */
export interface DeleteOrigin {
  reason: DeleteReason
  model?: string
  field?: string
}

/** A kept file removed by `file.delete()`, `Model.delete(record)` or `Model.replace()`; variants get their own message. */
export interface DeletedMessage {
  storage: string | undefined
  name: string
  reason: DeleteReason
  model: string | undefined
  field: string | undefined
  variant: string | undefined
  /** Known when the file object knows it (an upload's file, or a loaded one after `stat()`). */
  size: number | undefined
}

// Storages do not know the name the plugin registered them under; the plugin tells us.
const storageNames = new WeakMap<Storage, string>()

export function nameStorage (storage: Storage, name: string): void {
  storageNames.set(storage, name)
}

export const storageName = (storage: Storage): string | undefined => storageNames.get(storage)

interface KeptFile {
  name: string
  size: number
  contentType: string
  storage: Storage
  variants?: Readonly<Record<string, KeptFile>>
}

/** Publishes a kept file and its variants on `fastify-media:stored`. */
export function publishFile (file: KeptFile, model: string, field: string, request: FastifyRequest | undefined): void {
  const publish = (kept: KeptFile, variant: string | undefined): void => {
    const message: StoredMessage = { storage: storageName(kept.storage), name: kept.name, model, field, variant, size: kept.size, contentType: kept.contentType, request }
    storedChannel.publish(message)
  }
  publish(file, undefined)
  // a variant made later (lazy, background) has no size until it is made, and is announced then
  for (const [key, variant] of Object.entries(file.variants ?? {})) if (variant.size !== undefined) publish(variant, key)
}

/** Publishes every file of a request that just committed. */
export function publishStored (model: { name: string }, uploads: Record<string, KeptFile | KeptFile[] | null>, request: FastifyRequest): void {
  if (!storedChannel.hasSubscribers) return
  for (const [field, value] of Object.entries(uploads)) {
    for (const file of [value ?? []].flat()) publishFile(file, model.name, field, request)
  }
}

/** Publishes a deleted file on `fastify-media:deleted`. */
export function publishDeleted (file: { name: string, size: number | undefined, storage: Storage }, origin: DeleteOrigin, variant: string | undefined): void {
  if (!deletedChannel.hasSubscribers) return
  const message: DeletedMessage = { storage: storageName(file.storage), name: file.name, reason: origin.reason, model: origin.model, field: origin.field, variant, size: file.size }
  deletedChannel.publish(message)
}
