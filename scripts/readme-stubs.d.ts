// The ambient names README.md's ts blocks may use without declaring them (scripts/check-readme.mjs).
declare const db: { insert (row: object): Promise<void>, find (id: string): Promise<Record<string, unknown> & { id: string }> }
declare const row: Record<string, unknown> & { id: string }
declare const buffer: Buffer
