import type { Storage } from './storage.js'

export interface ServedStorage {
  storageName: string
  storage: Storage
  /** Undefined only before options.ts has refused it. */
  baseUrl: string
  /** The files' directory when they are on this machine (served from disk), else read through the storage. */
  location: string | undefined
}

/** The storages the plugin serves at their baseUrl, by what each says of itself (not by its class). */
export function servedStorages (storages: ReadonlyMap<string, Storage>, baseDir: string): ServedStorage[] {
  const served: ServedStorage[] = []
  for (const [storageName, storage] of storages) {
    const files = storage.served?.(baseDir)
    if (files !== undefined) served.push({ storageName, storage, baseUrl: files.baseUrl as string, location: files.location })
  }
  return served
}
