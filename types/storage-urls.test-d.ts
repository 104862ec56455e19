import Fastify from 'fastify'
import { FieldFile, FileField, FileSystemStorage, ImageField, ImageFile, MemoryStorage, S3Storage, type Loaded, type UrlOptions } from '../lib/index.js'
import { assertTrue, expectType, use, type Equal } from './helpers.js'

// A loaded file's url is what its storage's url() returns. Registering the plugin cannot tell TypeScript
// which storages it got, so the app declares them (names other tests do not use: this merges program-wide).
declare module '../lib/index.js' {
  interface MediaStorages {
    disk: FileSystemStorage
    memory: MemoryStorage
    bucket: S3Storage
    vault: S3Storage<false>
    // a storage that always signs asynchronously, as a private S3Storage does
    signer: { url: (name: string, opts?: UrlOptions) => Promise<string> }
  }
}

expectType<string>()(new FileSystemStorage({ location: 'x', baseUrl: '/x/' }).url('a.png'))
expectType<string>()(new MemoryStorage().url('a.png'))
// S3: a public bucket's URL at once, a private one's presigned as a Promise, either when not known statically
expectType<string>()(new S3Storage({ bucket: 'b' }).url('a.png'))
expectType<string>()(new S3Storage({ bucket: 'b', public: true }).url('a.png'))
expectType<Promise<string>>()(new S3Storage({ bucket: 'b', public: false }).url('a.png'))
declare const isPublic: boolean
expectType<string | Promise<string>>()(new S3Storage({ bucket: 'b', public: isPublic }).url('a.png'))

const app = Fastify()
const Doc = app.media.model('doc', {
  onDisk: FileField({ storage: 'disk' }),
  inMemory: ImageField({ storage: 'memory', variants: { thumb: { width: 10 } } }),
  onS3: FileField({ storage: 'bucket' }),
  inVault: FileField({ storage: 'vault' }),
  undeclared: FileField({ storage: 'elsewhere' }),
  onDefault: FileField(),
  signed: ImageField({ storage: 'signer', variants: { thumb: { width: 10 } } })
})
const files = Doc.load({ onDisk: 'a.pdf', inMemory: 'a.png', onS3: 'a.pdf', inVault: 'a.pdf', undeclared: 'a.pdf', onDefault: 'a.pdf', signed: 'a.png' })
expectType<string>()(files.onDisk.url)
expectType<string>()(files.onDisk.toJSON().url)
expectType<string>()(files.inMemory.url)
expectType<string>()(files.inMemory.variants.thumb.url)
expectType<string>()(files.inMemory.toJSON().variants.thumb.url)
expectType<string>()(files.onS3.url)
expectType<Promise<string>>()(files.inVault.url)
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
expectType<number>()(uploaded.size)
expectType<string>()(uploaded.toJSON().url)

// what a loaded file is typed as is what it is: the storage's url(), sizes unknown until stat()
expectType<Promise<string>>()(files.signed.url)
expectType<Promise<string>>()(files.signed.variants.thumb.url)
expectType<Promise<string>>()(files.signed.toJSON().url)
expectType<Loaded<ImageFile<'thumb'>, Promise<string>>>()(files.signed)
assertTrue<Equal<Loaded<ImageFile<'thumb'>, Promise<string>>, ImageFile<'thumb', Promise<string>, number | undefined>>>()
assertTrue<Equal<Loaded<FieldFile, string>, FieldFile<string, number | undefined>>>()
expectType<number | undefined>()(files.signed.size)
expectType<number | undefined>()(files.signed.width)
// stat() awaits the signed URLs too: what it returns is what an upload gives
const measured = await files.signed.stat()
expectType<ImageFile<'thumb'>>()(measured)
expectType<string>()(measured.url)
expectType<string>()(measured.variants.thumb.url)
expectType<number>()(measured.width)
// @ts-expect-error -- a Promise is not a string until awaited
use(files.signed.url.length)
