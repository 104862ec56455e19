// The ambient names README.md's ts blocks may use without declaring them (scripts/check-readme.mjs).
interface StubRow extends Record<string, unknown> { id: string }
/** A transaction of a SQL client: `find(id, { forUpdate })` is SELECT ... FOR UPDATE. */
interface StubTransaction {
  find (id: string, opts: { forUpdate: true }): Promise<StubRow | undefined>
  update (id: string, values: object): Promise<void>
  remove (id: string): Promise<void>
  commit (): Promise<void>
  rollback (): Promise<void>
}
declare const db: { insert (row: object): Promise<void>, find (id: string): Promise<StubRow>, begin (): Promise<StubTransaction> }
declare const row: Record<string, unknown> & { id: string }
declare const buffer: Buffer
