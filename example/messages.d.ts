// Types of messages.js for the TypeScript tests that import it.

/** What the page shows for an error: the field it goes next to (undefined: above the form), in plain words. */
export interface Described {
  field: string | undefined
  message: string
  code: string | undefined
  status: number
}

export const SERVER_TROUBLE: string
export function describeError (error: { code?: string, statusCode?: number, message: string, field?: string | null, validation?: unknown }): Described
