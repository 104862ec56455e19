import { FST_MEDIA_INVALID_OPTION } from '../errors.js'
import type { DeleteOrigin } from '../events.js'
import type { Storage } from '../storage/storage.js'
import { FieldFile, isKept, kDelete, markKept, type Loaded } from './field-file.js'
import { placeholderKey } from './placeholder-key.js'
import { keepFile } from '../upload/transaction.js'

export interface ReplaceOptions<C, R> {
  /**
   * The caller's database write of `changes` (the names of the replaced fields). The old files are deleted
   * only once it resolved; if it throws, the new files are deleted instead and its error is thrown.
   */
  commit: (changes: C) => R | Promise<R>
}

/** What `replace` needs of its model. */
export interface ReplaceModel {
  name: string
  fields: Readonly<Record<string, { multiple: boolean, storage: Storage, options: { image: { placeholder: unknown } | undefined } }>>
  /** The record's files of a field, variants included, as `load()` rebuilds them. */
  filesOf: (fieldName: string, row: Readonly<Record<string, unknown>>) => Array<Loaded<FieldFile>>
}

/** Files by storage and name: what a record names, compared by where the bytes are, not by field. */
class FileSet {
  readonly #names = new Map<Storage, Set<string>>()

  add (file: { storage: Storage, name: string }): void {
    const names = this.#names.get(file.storage) ?? new Set()
    this.#names.set(file.storage, names.add(file.name))
  }

  has (file: { storage: Storage, name: string }): boolean {
    return this.#names.get(file.storage)?.has(file.name) === true
  }
}

interface Added { fieldName: string, file: FieldFile }

/**
 * Model.replace(): stores (publishes) the new files, runs the caller's commit, and only then deletes the files
 * the old row named that the new record does not. A failure before or in commit deletes the new files
 * instead, never one the old row names, and rethrows.
 */
export async function replaceFiles<R> (model: ReplaceModel, row: Readonly<Record<string, unknown>>, uploads: Readonly<Record<string, unknown>>, options: ReplaceOptions<Record<string, string | string[]>, R>): Promise<R> {
  const where = `${model.name}.replace`
  if (typeof row !== 'object' || row === null) throw new FST_MEDIA_INVALID_OPTION(where, 'the old record must be an object (a row naming the files)')
  if (typeof uploads !== 'object' || uploads === null) throw new FST_MEDIA_INVALID_OPTION(`${where} uploads`, 'must be an object of files by field (req.uploads)')
  if (typeof options?.commit !== 'function') throw new FST_MEDIA_INVALID_OPTION(`${where} commit`, 'must be a function: your database write')

  const { changes, added } = newFiles(model, uploads)
  const merged = { ...row, ...changes }
  const before = new FileSet()
  const after = new FileSet()
  const old: Array<{ fieldName: string, file: Loaded<FieldFile> }> = []
  for (const fieldName of Object.keys(model.fields)) {
    for (const file of model.filesOf(fieldName, row)) {
      before.add(file)
      old.push({ fieldName, file })
    }
    for (const file of model.filesOf(fieldName, merged)) after.add(file)
  }
  const origin = (fieldName: string): DeleteOrigin => ({ reason: 'Model.replace', model: model.name, field: fieldName })

  let result: R
  try {
    // a staged file (S3Storage's `staged`) becomes visible now, so the record commit writes names real files
    await Promise.all(added.flatMap(({ file }) => storedNames(file).map(async (name) => await file.storage.publish?.(name))))
    result = await options.commit(changes)
  } catch (err) {
    // never a file the old row names: an upload may be the old record's own file, kept as it was
    await Promise.all(added.filter(({ file }) => !before.has(file)).map(async ({ fieldName, file }) => await removeNew(file, origin(fieldName)).catch(() => {})))
    throw err
  }
  // The record is written and names the new files: a handler failing after this must not take them with its
  // request's rollback
  for (const { file } of added) keepFile(file, file.storage, storedNames(file))
  markKept(added.map(({ file }) => file))
  // The record is written: a file that cannot be deleted now is left behind rather than failing a write that
  // succeeded (on an upload route, a rejection would roll back the new files the record now names).
  await Promise.all(old.filter(({ file }) => !after.has(file)).map(async ({ fieldName, file }) => await file[kDelete](origin(fieldName)).catch(() => {})))
  return result
}

function newFiles (model: ReplaceModel, uploads: Readonly<Record<string, unknown>>): { changes: Record<string, string | string[]>, added: Added[] } {
  const changes: Record<string, string | string[]> = {}
  const added: Added[] = []
  for (const [fieldName, value] of Object.entries(uploads)) {
    const field = Object.hasOwn(model.fields, fieldName) ? model.fields[fieldName] : undefined
    const at = `${model.name}.replace uploads.${fieldName}`
    if (field === undefined) throw new FST_MEDIA_INVALID_OPTION(at, `is not a field of ${model.name} (have: ${Object.keys(model.fields).join(', ')})`)
    // null, undefined or [] (a field the form did not send): not replaced, the old file stays
    if (value === null || value === undefined) continue
    if (Array.isArray(value) !== field.multiple) throw new FST_MEDIA_INVALID_OPTION(at, field.multiple ? 'must be an array of files (a multiple field)' : 'must be one file, or null to keep the old one')
    const files: unknown[] = field.multiple ? value as unknown[] : [value]
    if (files.length === 0) continue
    for (const file of files) {
      if (!(file instanceof FieldFile) || file.storage !== field.storage) throw new FST_MEDIA_INVALID_OPTION(at, `must be files stored for this field (req.uploads.${fieldName}, or what fields.${fieldName}.save() returned)`)
      added.push({ fieldName, file })
    }
    const names = (files as FieldFile[]).map((file) => file.name)
    changes[fieldName] = field.multiple ? names : names[0] as string
    if (field.options.image?.placeholder !== undefined) {
      // the record keeps them beside the names, as toRecord() does
      const placeholders = files.map((file) => (file as { placeholder?: string }).placeholder as string)
      changes[placeholderKey(fieldName)] = field.multiple ? placeholders : placeholders[0] as string
    }
  }
  return { changes, added }
}

/**
 * A kept file is deleted as any (announced on `deleted`); a request's file not kept yet goes as its request's
 * rollback would remove it, unannounced: it was never announced on `stored`. Variants first, as always.
 */
async function removeNew (file: FieldFile, origin: DeleteOrigin): Promise<void> {
  if (isKept(file)) return await file[kDelete](origin)
  const [name, ...variants] = storedNames(file)
  await Promise.all(variants.map(async (variant) => await file.storage.delete(variant)))
  await file.storage.delete(name as string)
}

/** A file's name and its variants'. */
function storedNames (file: FieldFile): string[] {
  const variants = Object.values((file as { variants?: Record<string, FieldFile> }).variants ?? {})
  return [file.name, ...variants.map((variant) => variant.name)]
}
