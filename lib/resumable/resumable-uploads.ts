import { FST_MEDIA_INVALID_OPTION } from '../errors.js'
import type { BoundField } from '../fields/model.js'
import type { ResumableEndpoint } from './endpoint.js'

const keyOf = (field: BoundField): string => `${field.model}.${field.name}`

/** The app's resumable endpoints, by the fields they take: what the upload route asks when a form commits one. */
export class ResumableUploads {
  readonly #claimed = new Set<string>()
  readonly #endpoints = new Map<string, ResumableEndpoint>()

  /** At `resumable()`: a field has one endpoint, so a form value finds its upload in one place. */
  claim (fields: ReadonlyMap<string, BoundField>): void {
    for (const key of fields.keys()) {
      if (this.#claimed.has(key)) throw new FST_MEDIA_INVALID_OPTION('resumable.fields', `${key} is on another resumable endpoint already`)
    }
    for (const key of fields.keys()) this.#claimed.add(key)
  }

  /** Once the endpoint's plugin has registered. */
  mount (endpoint: ResumableEndpoint): void {
    for (const key of endpoint.rules.fields.keys()) this.#endpoints.set(key, endpoint)
  }

  /** The endpoint a field's uploads go to, when it has one (mounted). */
  endpointOf (field: BoundField): ResumableEndpoint | undefined {
    return this.#endpoints.get(keyOf(field))
  }

  /**
   * Removes every endpoint's uploads older than `olderThan` seconds (default each endpoint's `expiresIn`),
   * or only those of the endpoints on `storage`.
   */
  async expire ({ olderThan, storage }: { olderThan?: number, storage?: object } = {}): Promise<number> {
    if (olderThan !== undefined && (!Number.isFinite(olderThan) || olderThan < 0)) throw new FST_MEDIA_INVALID_OPTION('expireUploads.olderThan', 'must be seconds, 0 or more')
    let removed = 0
    for (const endpoint of new Set(this.#endpoints.values())) {
      if (storage === undefined || endpoint.storage === storage) removed += await endpoint.expire(olderThan)
    }
    return removed
  }
}
