// Types of profile-store.js for the TypeScript tests that import it.

export interface ProfileRecord {
  id: string
  created: string
  name: string
  [field: string]: unknown
}

export class ProfileStore {
  constructor (file: string)
  open (): Promise<this>
  all (): ProfileRecord[]
  get (id: string): ProfileRecord | undefined
  add (fields: Record<string, unknown>): Promise<ProfileRecord>
  remove (id: string): Promise<ProfileRecord | undefined>
}
