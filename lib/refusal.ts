// The structured side of an upload refusal: the errors themselves are declared in errors.ts.

/**
 * What an upload refusal carries besides its code and message, on the error and in the default JSON reply.
 * `field` is null for a refusal about the whole request (not multipart, a request limit, a broken body).
 */
export interface RefusalDetails {
  field: string | null
  /** The bound that was passed (bytes, a count, pixels or ms) and the option that set it. */
  limit?: number
  option?: string
  /** The MIME type read from the bytes; null when nothing could be recognised. */
  detected?: string | null
  /** What the field takes: MIME types, `type/*` and `.ext`; absent when it takes any detectable type. */
  accepted?: string[]
  /** Bytes of the refused file read before the refusal. */
  bytes?: number
}

export type Refusal = Error & RefusalDetails & { code: string, statusCode: number }

const kRefusal = Symbol('fastify-media.refusal')

/** Marks an error as an upload refusal and gives it its details; details set before are kept. */
export function refusal<E extends Error> (err: E, details: RefusalDetails): E & RefusalDetails {
  const marked = err as E & RefusalDetails & { [kRefusal]?: true }
  if (marked[kRefusal] !== true) {
    Object.defineProperty(marked, kRefusal, { value: true })
    marked.field = details.field
  }
  for (const [key, value] of Object.entries(details)) {
    if (value !== undefined && (marked as unknown as Record<string, unknown>)[key] === undefined) {
      (marked as unknown as Record<string, unknown>)[key] = value
    }
  }
  return marked
}

export const isRefusal = (err: unknown): err is Refusal => kRefusal in Object(err)

/** One of our errors with a 4xx status: a refusal of what the client sent, not a server failure. */
export function isClientError (err: unknown): err is Error & { code: string, statusCode: number } {
  const { code, statusCode } = Object(err) as { code?: unknown, statusCode?: unknown }
  return String(code).startsWith('FST_MEDIA_') && Number(statusCode) < 500
}
