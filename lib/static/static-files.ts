import { resolve } from 'node:path'
import { FST_MEDIA_INVALID_OPTION, FST_MEDIA_STATIC_NOT_FOUND } from '../errors.js'
import { staticPrefix } from '../options.js'
import { isInside } from '../paths.js'
import type { Storage } from '../storage/storage.js'
import { normalizeStorageName } from '../storage/valid-name.js'
import { collectStatic, type CollectOptions, type CollectResult } from './collect.js'
import type { StaticDir } from '../options.js'
import { StaticFinders, type FoundFile } from './finders.js'
import { MANIFEST_NAME, readManifest } from './manifest.js'
import { MemoryFiles } from './memory-files.js'

export interface StaticConfig {
  readonly url: string
  readonly dirs: readonly StaticDir[]
  readonly root: string
  readonly storage?: Storage | undefined
  readonly fileMode?: number | undefined
}

const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/')

/** The static half: finders, the manifest, URLs for pages, collectstatic and findstatic. */
export class StaticFiles {
  readonly finders: StaticFinders
  /** Production: the hashed files held in memory, loaded at startup and again after `collect()`. */
  readonly memory = new MemoryFiles()
  readonly #config: StaticConfig
  readonly #production: boolean
  readonly #baseDir: string
  #paths: Record<string, string> | undefined
  #hashed: Set<string> | undefined

  readonly #storageLocations: ReadonlyArray<{ name: string, location: string }>

  /** `storageLocations`: where disk storages keep files; no static dir may share them. */
  constructor (config: StaticConfig, mode: 'development' | 'production', baseDir: string, storageLocations: ReadonlyArray<{ name: string, location: string }> = []) {
    this.#config = config
    this.#production = mode === 'production'
    this.#baseDir = baseDir
    this.#storageLocations = storageLocations
    this.finders = new StaticFinders(config.dirs, { exclude: config.root })
  }

  /** Another plugin's directory of static files, like Django's app directories; found after `static.dirs`. */
  addDir (dir: string, prefix = ''): void {
    if (typeof dir !== 'string' || dir === '') throw new FST_MEDIA_INVALID_OPTION('addStaticDir', 'needs a directory')
    const absolute = resolve(this.#baseDir, dir)
    if (isInside(absolute, this.#config.root)) throw new FST_MEDIA_INVALID_OPTION('addStaticDir', `"${absolute}" is static.root or inside it, where collectstatic writes`)
    for (const { name, location } of this.#storageLocations) {
      if (isInside(absolute, location) || isInside(location, absolute)) {
        throw new FST_MEDIA_INVALID_OPTION('addStaticDir', `"${absolute}" shares files with storages.${name}: its files would be served as static files`)
      }
    }
    this.finders.add({ prefix: staticPrefix(prefix, 'addStaticDir prefix'), dir: absolute })
  }

  #manifest (): Record<string, string> | undefined {
    this.#paths ??= readManifest(this.#config.root)?.paths
    return this.#paths
  }

  /** True for a name the manifest gives as a hashed name: its bytes never change. */
  isHashed (path: string): boolean {
    const manifest = this.#manifest()
    if (manifest === undefined) return false
    // built once the manifest exists, never from its absence: a later collectstatic is picked up
    this.#hashed ??= new Set(Object.values(manifest))
    return this.#hashed.has(path)
  }

  /** The URL of a static file for a page: as is in development, its hashed name in production. */
  url (path: string): string {
    // as Django's static(): a `?query` or `#fragment` is kept after the (hashed) name, as written; unless
    // the whole path names a file (whose name holds a `?` or `#`)
    const cut = path.search(/[?#]/)
    if (cut === -1 || this.#names(path)) return this.#url(path)
    return this.#url(path.slice(0, cut)) + path.slice(cut)
  }

  /** Whether a path names a static file: in the manifest (production), in a static dir (development). */
  #names (path: string): boolean {
    const clean = normalizeStorageName(path)
    if (clean === undefined) return false
    return this.#production ? this.#manifest()?.[clean] !== undefined : this.finders.hasFileSync(clean)
  }

  #url (path: string): string {
    const clean = normalizeStorageName(path)
    if (clean === undefined) throw new FST_MEDIA_STATIC_NOT_FOUND(path, 'not a path under static.url')
    if (!this.#production) return this.#config.url + encodePath(clean)
    const manifest = this.#manifest()
    if (manifest === undefined) {
      throw new FST_MEDIA_STATIC_NOT_FOUND(clean, `no valid manifest at ${resolve(this.#config.root, MANIFEST_NAME)}: run \`fastify-media collectstatic <app>\``)
    }
    const hashed = manifest[clean]
    if (hashed === undefined) throw new FST_MEDIA_STATIC_NOT_FOUND(clean, 'not in the manifest of static.root: is the file in a static dir, and has `fastify-media collectstatic <app>` run since?')
    // options.ts made sure the storage is public: its URLs are plain strings
    if (this.#config.storage !== undefined) return this.#config.storage.url(hashed) as string
    return this.#config.url + encodePath(hashed)
  }

  /**
   * Holds the manifest's hashed files in memory (production). A manifest that another process writes
   * later is served from disk until the next start: its names are then not in memory, nothing is stale.
   */
  async loadMemory (): Promise<void> {
    const manifest = this.#manifest()
    // collectstatic never lists an ignored name; a manifest edited by hand could (the disk path refuses it)
    if (this.#production && manifest !== undefined) await this.memory.load(this.#config.root, Object.values(manifest).filter((name) => !this.finders.ignored(name)))
  }

  async collect (options?: CollectOptions): Promise<CollectResult> {
    const result = await collectStatic({ root: this.#config.root, url: this.#config.url, finders: this.finders, storage: this.#config.storage, fileMode: this.#config.fileMode }, options)
    if (options?.postProcess !== false && options?.dryRun !== true) {
      this.#paths = result.manifest
      this.#hashed = undefined
      await this.loadMemory()
    }
    return result
  }

  async find (path: string): Promise<FoundFile[]> {
    return await this.finders.findAll(path)
  }
}
