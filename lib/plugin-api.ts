import { FST_MEDIA_INVALID_OPTION } from './errors.js'
import { createModel, type Fields, type Model } from './fields/model.js'
import type { MediaConfig } from './options.js'
import type { Storage } from './storage/storage.js'

/** What `app.media` offers. */
export interface MediaApi {
  /** The resolved, frozen configuration. */
  readonly config: MediaConfig
  /** Declares a model: named file fields that upload routes and records share. */
  model: <F extends Fields>(name: string, fields: F) => Model<F>
  /** A storage by its name in `storages` ('default' for the media root). */
  storage: (name?: string) => Storage
}

export function createMediaApi (config: MediaConfig): MediaApi {
  const models = new Set<string>()
  return Object.freeze({
    config,
    model<F extends Fields> (name: string, fields: F): Model<F> {
      if (models.has(name)) throw new FST_MEDIA_INVALID_OPTION('model', `"${name}" is declared twice`)
      const model = createModel(name, fields, config.storages)
      models.add(name)
      return model
    },
    storage (name = 'default'): Storage {
      const storage = config.storages.get(name)
      if (storage === undefined) throw new FST_MEDIA_INVALID_OPTION('storage', `no storage named "${name}"`)
      return storage
    }
  })
}
