import type { ServedFiles, Storage } from './storage.js'

export interface ServedStorage extends ServedFiles {
  storageName: string
  storage: Storage
  /** Undefined only before options.ts has refused it. */
  baseUrl: string
}

/** The storages the plugin serves at their baseUrl, by what each says of itself (not by its class). */
export function servedStorages (storages: ReadonlyMap<string, Storage>, baseDir: string): ServedStorage[] {
  const served: ServedStorage[] = []
  for (const [storageName, storage] of storages) {
    const files = storage.served?.(baseDir)
    if (files !== undefined) served.push({ ...files, storageName, storage, baseUrl: files.baseUrl as string })
  }
  return served
}
