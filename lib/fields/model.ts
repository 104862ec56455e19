import { FST_MEDIA_INVALID_NAME, FST_MEDIA_INVALID_OPTION } from '../errors.js'
import { isRefusal, refusal } from '../refusal.js'
import { publishFile, storedChannel } from '../events.js'
import { reportRefusal } from '../upload/refusal-reply.js'
import type { Content, Storage, StorageUrl } from '../storage/storage.js'
import { storeFile } from '../upload/store-file.js'
import { IMAGE_FORMAT_OF } from '../image/formats.js'
import { variantFormat, variantName } from '../image/variant-options.js'
import { planVariant, queueLater, variantUrl } from '../image/later.js'
import { splitExtension } from '../storage/valid-name.js'
import type { FieldKind, FieldSpec, PlaceholderKind, ResolvedField } from './field.js'
import { FieldFile, ImageFile, kDelete, markKept, type Loaded, type WithPlaceholder } from './field-file.js'
import { UploadTransaction } from '../upload/transaction.js'
import { PendingNames } from '../upload/pending.js'
import { replaceFiles, type ReplaceOptions } from './replace.js'
import { placeholderKey } from './placeholder-key.js'

export type Fields = Record<string, FieldSpec>

/** The names of an image field's variants (`never` when it has none). */
export type VariantsOfField<S extends FieldSpec> = S extends { readonly '~variants'?: (variant: infer V) => void } ? ([V] extends [string] ? V : never) : never

/** The `placeholder` an image field declares (`never` when none). */
export type PlaceholderOfField<S extends FieldSpec> = S extends { readonly '~placeholder'?: (placeholder: infer P) => void } ? ([P] extends [PlaceholderKind] ? P : never) : never

/**
 * A declared placeholder gives the field's images one; options typed only as `ImageFieldOptions` (P is
 * every kind) may or may not declare it, so the property may be undefined there.
 */
type ImageFileOf<S extends FieldSpec> = [PlaceholderOfField<S>] extends [never]
  ? ImageFile<VariantsOfField<S>>
  : WithPlaceholder<ImageFile<VariantsOfField<S>>, PlaceholderKind extends PlaceholderOfField<S> ? string | undefined : string>

export type FileOf<S extends FieldSpec> = S['kind'] extends 'image' ? ImageFileOf<S> : FieldFile

/**
 * A field's value shaped by its flags: an array when `multiple`, `| null` when not `required`. A flag typed
 * only as `boolean` (not a literal) gets both shapes, since either may come at run time.
 */
type Shaped<S extends FieldSpec, T> =
  | (true extends S['multiple'] ? T[] : never)
  | (false extends S['multiple'] ? (false extends S['required'] ? T | null : T) : never)

/** What `req.uploads` holds for a field. */
export type UploadValue<S extends FieldSpec> = Shaped<S, FileOf<S>>

export type Uploads<F extends Fields> = { -readonly [K in keyof F]: UploadValue<F[K]> }

/** What a database keeps for a field: names. */
export type RecordValue<S extends FieldSpec> = Shaped<S, string>

/** The fields of a model, or the fields themselves (what `app.media.model()` was given). */
type FieldsOf<T> = T extends Model<infer F> ? F : T extends Fields ? T : never

/** Where a record keeps the placeholders of a field that declares them: `<field>Placeholder`. */
type PlaceholderKey<F extends Fields> = { [K in keyof F & string]: [PlaceholderOfField<F[K]>] extends [never] ? never : `${K}Placeholder` }[keyof F & string]

/** The field whose placeholders a record key holds. */
type FieldOfPlaceholder<F extends Fields, P> = { [K in keyof F & string]: P extends `${K}Placeholder` ? K : never }[keyof F & string]

/**
 * What `toRecord()` returns for a model (or its fields): the names to keep in a database, and beside them
 * the placeholders of the fields that declare them, in the same shape.
 */
export type RecordOf<T extends Model<any> | Fields> = {
  -readonly [K in keyof FieldsOf<T> | PlaceholderKey<FieldsOf<T>>]: K extends keyof FieldsOf<T> ? RecordValue<FieldsOf<T>[K]> : RecordValue<FieldsOf<T>[FieldOfPlaceholder<FieldsOf<T>, K>]>
}

/** The name of a field's storage; `'default'` unless it says `storage`. */
type StorageNameOf<S extends FieldSpec> = S extends { readonly '~storage'?: (storage: infer N) => void }
  ? ([N] extends [never] ? 'default' : N extends string ? N : string)
  : string

/** A file of this field as `load()` rebuilds it, its `url` typed by its storage (see MediaStorages). */
export type LoadedFileOf<S extends FieldSpec> = Loaded<FileOf<S>, StorageUrl<StorageNameOf<S>>>

export type LoadedValue<S extends FieldSpec> = Shaped<S, LoadedFileOf<S>>

/** A record `load()` gives the required files of: `RecordOf`, its placeholders optional. */
type LoadableRecord<F extends Fields> = Omit<RecordOf<F>, PlaceholderKey<F>> & Partial<RecordOf<F>>

/** What `load()` returns for a record typed by `RecordOf`: a required field's file is there. */
export type LoadedOf<T extends Model<any> | Fields> = { -readonly [K in keyof FieldsOf<T>]: LoadedValue<FieldsOf<T>[K]> }

/** A row's value: a single field's name may be missing (null), whatever `required` says. */
type RowShaped<S extends FieldSpec, T> =
  | (true extends S['multiple'] ? T[] : never)
  | (false extends S['multiple'] ? T | null : never)

/**
 * What `load()` returns for any other row: at run time a field whose name is missing, empty or not a string
 * loads as `null` (an empty array when `multiple`), so every single field may be null.
 */
export type LoadedRowOf<T extends Model<any> | Fields> = { -readonly [K in keyof FieldsOf<T>]: RowShaped<FieldsOf<T>[K], LoadedFileOf<FieldsOf<T>[K]>> }

/** A database row that names a model's files under its field names, next to any other columns. */
export type RowOf<T extends Model<any> | Fields> = { readonly [K in keyof FieldsOf<T>]?: string | readonly string[] | null | undefined } & { readonly [column: string]: any }

export interface BoundField<S extends FieldSpec = FieldSpec> {
  readonly kind: S['kind']
  readonly required: S['required']
  readonly multiple: S['multiple']
  readonly options: ResolvedField
  readonly name: string
  readonly model: string
  readonly storage: Storage
  /** Runs the upload checks outside HTTP and stores the file. */
  save: (filename: string, content: Content) => Promise<FileOf<S>>
}

export interface Model<F extends Fields = Fields> {
  /**
   * Type-only: carries the model's uploads into a route's generic, which is how `req.uploads` gets its type
   * from the `upload` option without explicit generics. Never set at run time.
   */
  readonly '~route'?: { Uploads: Uploads<F> }
  readonly name: string
  readonly fields: { readonly [K in keyof F]: BoundField<F[K]> }
  /** The names of a request's files, to keep in a database. (A method, so any model is a `Model`.) */
  toRecord (uploads: Uploads<F>): RecordOf<F>
  /**
   * The files of a record again; size and dimensions wait for `await file.stat()`. A record typed by
   * `RecordOf` (what `toRecord()` returns; its placeholders may be missing, as in a record kept before the
   * field had them) gives its required files; any other row may lack any of them.
   */
  load (record: LoadableRecord<F>): LoadedOf<F>
  load (row: RowOf<F>): LoadedRowOf<F>
  /** Removes every file a record names. */
  delete (row: RowOf<F>): Promise<void>
  /**
   * Replaces a record's files: `uploads` are files already stored for this model (`req.uploads`, or what
   * `fields.x.save()` returned), a field left `null`, `undefined` or `[]` keeps its old files. Publishes
   * the new files, runs `commit` with the replaced fields' names, and only once it resolved deletes the old
   * files (and variants) the new record no longer names; resolves to what `commit` returned. If anything up
   * to `commit` fails, the new files are deleted, the old ones stay, and the error is thrown.
   */
  replace<R> (row: RowOf<F>, uploads: Partial<Uploads<F>>, options: ReplaceOptions<Partial<RecordOf<F>>, R>): Promise<Awaited<R>>
}

export type UploadsOf<M> = M extends Model<infer F> ? Uploads<F> : never

const kModel = Symbol('fastify-media.model')

export function isModel (value: unknown): value is Model {
  return typeof value === 'object' && value !== null && kModel in value
}

const namesOf = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [value]).filter((name): name is string => typeof name === 'string' && name !== '')

/**
 * A row's files of a field with their placeholders: the placeholder at the same place as the name (a
 * multiple field's are an array beside its names), undefined where the row has none (a record kept before
 * the field had them) or not a string.
 */
function storedOf (row: Readonly<Record<string, unknown>>, fieldName: string): Array<{ name: string, placeholder: string | undefined }> {
  const names = row[fieldName]
  const placeholders = row[placeholderKey(fieldName)]
  const list = (value: unknown): unknown[] => Array.isArray(value) ? value : [value]
  const stored: Array<{ name: string, placeholder: string | undefined }> = []
  for (const [i, name] of list(names).entries()) {
    if (typeof name !== 'string' || name === '') continue
    const placeholder = list(placeholders)[i]
    stored.push({ name, placeholder: typeof placeholder === 'string' ? placeholder : undefined })
  }
  return stored
}

function toSource (content: Content): AsyncGenerator<Buffer> {
  return (async function * () {
    if (Buffer.isBuffer(content)) yield content
    else for await (const chunk of content) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)
  })()
}

export function createModel<F extends Fields> (name: string, specs: F, storages: ReadonlyMap<string, Storage>): Model<F> {
  if (typeof name !== 'string' || !/^[\w-]+$/.test(name)) throw new FST_MEDIA_INVALID_OPTION('model', `"${String(name)}" is not a model name (letters, digits, _ and -)`)
  if (typeof specs !== 'object' || specs === null || Object.keys(specs).length === 0) {
    throw new FST_MEDIA_INVALID_OPTION(`model ${name}`, 'needs at least one field')
  }

  const fields: Record<string, BoundField> = {}
  for (const [fieldName, spec] of Object.entries(specs)) {
    if (typeof spec?.kind !== 'string') throw new FST_MEDIA_INVALID_OPTION(`${name}.${fieldName}`, 'is not a FileField or ImageField')
    const storage = storages.get(spec.options.storage)
    if (storage === undefined) {
      throw new FST_MEDIA_INVALID_OPTION(`${name}.${fieldName}.storage`, `no storage named "${spec.options.storage}" (have: ${[...storages.keys()].join(', ') || 'none'})`)
    }
    fields[fieldName] = bindField(spec, fieldName, name, storage)
  }
  for (const [fieldName, field] of Object.entries(fields)) {
    if (field.options.image?.placeholder !== undefined && Object.hasOwn(fields, placeholderKey(fieldName))) {
      throw new FST_MEDIA_INVALID_OPTION(`${name}.${placeholderKey(fieldName)}`, `is where a record keeps the placeholders of ${fieldName}: rename the field`)
    }
  }

  const fileFor = (field: BoundField, stored: string, placeholder?: string): Loaded<FieldFile> => {
    const { storage } = field
    const init = { name: stored, storage, url: storage.url(stored), size: undefined }
    const rules = field.options.image
    if (rules === undefined) return new FieldFile(init)
    // a record keeps the original only: its variants' names follow from it
    const format = IMAGE_FORMAT_OF[splitExtension(stored).ext.toLowerCase()] ?? 'png'
    const variants = Object.fromEntries(rules.variants.map((variant) => {
      const name = variantName(stored, variant.key, variantFormat(variant, format))
      const file = new ImageFile({ name, storage, url: variantUrl(storage, name, variant), size: undefined })
      if (variant.generation !== 'upload') planVariant(file, variant, rules.autoOrient)
      return [variant.key, file]
    }))
    return new ImageFile({ ...init, variants, ...(rules.placeholder === undefined ? {} : { placeholder }) })
  }

  const model = {
    name,
    fields,
    toRecord (uploads: Record<string, FieldFile | FieldFile[] | null | undefined>) {
      const record: Record<string, string | string[] | null> = {}
      for (const [fieldName, field] of Object.entries(fields)) {
        const value = uploads[fieldName]
        const files = field.multiple ? (Array.isArray(value) ? value : []) : [value as FieldFile | null | undefined]
        const pick = (of: (file: FieldFile) => string | undefined): string | string[] | null =>
          field.multiple ? files.map((file) => of(file as FieldFile) as string) : (files[0] === null || files[0] === undefined ? null : of(files[0]) ?? null)
        record[fieldName] = pick((file) => file.name)
        if (field.options.image?.placeholder !== undefined) record[placeholderKey(fieldName)] = pick((file) => (file as { placeholder?: string }).placeholder)
      }
      return record
    },
    load (record: Record<string, unknown>) {
      const files: Record<string, Loaded<FieldFile> | Array<Loaded<FieldFile>> | null> = {}
      for (const [fieldName, field] of Object.entries(fields)) {
        const stored = storedOf(record, fieldName).map(({ name, placeholder }) => fileFor(field, name, placeholder))
        files[fieldName] = field.multiple ? stored : stored[0] ?? null
      }
      return files
    },
    async delete (record: Record<string, unknown>) {
      const deletions = Object.entries(fields).flatMap(([fieldName, field]) =>
        namesOf(record[fieldName]).map(async (stored) => await fileFor(field, stored)[kDelete]({ reason: 'Model.delete', model: name, field: fieldName })))
      await Promise.all(deletions)
    },
    async replace (row: Record<string, unknown>, uploads: Record<string, unknown>, options: ReplaceOptions<Record<string, string | string[]>, unknown>) {
      const filesOf = (fieldName: string, record: Readonly<Record<string, unknown>>): Array<Loaded<FieldFile>> =>
        namesOf(record[fieldName]).map((stored) => fileFor(fields[fieldName] as BoundField, stored))
      return await replaceFiles({ name, fields, filesOf }, row, uploads, options)
    }
  }
  Object.defineProperty(model, kModel, { value: true })
  return Object.freeze(model) as unknown as Model<F>
}

function bindField (spec: FieldSpec, fieldName: string, modelName: string, storage: Storage): BoundField {
  return Object.freeze({
    kind: spec.kind as FieldKind,
    required: spec.required,
    multiple: spec.multiple,
    options: spec.options,
    name: fieldName,
    model: modelName,
    storage,
    async save (filename: string, content: Content) {
      try {
        const file = await saveFile(spec.options, fieldName, modelName, storage, filename, content)
        markKept([file])
        queueLater([file])
        if (storedChannel.hasSubscribers) publishFile(file, modelName, fieldName, undefined)
        return file
      } catch (err) {
        if (isRefusal(err)) reportRefusal(err, modelName, undefined)
        throw err
      }
    }
  }) as BoundField
}

/**
 * `field.save()`: the upload checks outside HTTP, in a transaction of its own committed at once (a staged
 * file is published before this resolves); what it stored before failing is deleted again.
 */
async function saveFile (field: ResolvedField, fieldName: string, modelName: string, storage: Storage, filename: string, content: Content): Promise<FieldFile> {
  if (typeof filename !== 'string' || filename === '') {
    throw refusal(new FST_MEDIA_INVALID_NAME(fieldName, 'a file name is required'), { field: fieldName })
  }
  const tx = new UploadTransaction(new PendingNames())
  try {
    // no request total outside HTTP; the names are hidden from no route, the pending set is the transaction's own
    const file = await storeFile({ field, fieldName, modelName, storage, filename, source: toSource(content), hooks: tx.hooksFor(storage, () => {}) })
    await tx.commit()
    return file as FieldFile
  } catch (err) {
    await tx.rollback()
    throw err
  }
}
