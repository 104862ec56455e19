import Fastify from 'fastify'
import { FieldFile, FileField, FileSystemStorage, ImageField, ImageFile, MemoryStorage, S3Storage, type Loaded } from '../lib/index.js'
import { expectType } from './helpers.js'

// A loaded file's url is what its storage's url() returns. Registering the plugin cannot tell TypeScript
// which storages it got, so the app declares them (names other tests do not use: this merges program-wide).
declare module '../lib/index.js' {
  interface MediaStorages {
    disk: FileSystemStorage
    memory: MemoryStorage
    bucket: S3Storage
  }
}

expectType<string>()(new FileSystemStorage({ location: 'x', baseUrl: '/x/' }).url('a.png'))
expectType<string>()(new MemoryStorage().url('a.png'))
expectType<string | Promise<string>>()(new S3Storage({ bucket: 'b' }).url('a.png'))

const app = Fastify()
const Doc = app.media.model('doc', {
  onDisk: FileField({ storage: 'disk' }),
  inMemory: ImageField({ storage: 'memory', variants: { thumb: { width: 10 } } }),
  onS3: FileField({ storage: 'bucket' }),
  undeclared: FileField({ storage: 'elsewhere' }),
  onDefault: FileField()
})
const files = Doc.load({ onDisk: 'a.pdf', inMemory: 'a.png', onS3: 'a.pdf', undeclared: 'a.pdf', onDefault: 'a.pdf' })
expectType<string>()(files.onDisk.url)
expectType<string>()(files.onDisk.toJSON().url)
expectType<string>()(files.inMemory.url)
expectType<string>()(files.inMemory.variants.thumb.url)
expectType<string>()(files.inMemory.toJSON().variants.thumb.url)
expectType<string | Promise<string>>()(files.onS3.url)
// a storage the app has not declared (here: 'elsewhere', and 'default') may sign asynchronously
expectType<string | Promise<string>>()(files.undeclared.url)
expectType<string | Promise<string>>()(files.onDefault.url)
expectType<Loaded<FieldFile, string>>()(files.onDisk)
expectType<Loaded<ImageFile<'thumb'>, string>>()(files.inMemory)
// `await` works whatever the storage
expectType<string>()(await files.onS3.url)
// an upload's url is always a string: the upload awaited it
declare const uploaded: FieldFile
expectType<string>()(uploaded.url)
