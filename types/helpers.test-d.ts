import { FieldFile, ImageFile } from '../lib/index.js'
import { assertTrue, expectType, type Equal } from './helpers.js'

// the helpers reject near misses, so a passing check means an exact type
declare const image: ImageFile
declare const maybe: FieldFile | null
declare const anything: any
expectType<ImageFile>()(image)
// @ts-expect-error -- a subclass is not exactly its base
expectType<FieldFile>()(image)
// @ts-expect-error -- a union is not its member
expectType<FieldFile>()(maybe)
// @ts-expect-error -- any is not exactly anything else
expectType<string>()(anything)
// @ts-expect-error -- Equal is not assignability
assertTrue<Equal<{ a?: string }, { a: string | undefined }>>()
