import t from 'tap'
import { FileField, ImageField } from '../lib/index.js'

// `accept` entries are checked when the field is declared: each must be something a file's bytes can be
// detected as, or one of the text formats. Entries are passed as plain strings, as JavaScript would.

const invalidAccept = (field: string, message: RegExp) => ({ code: 'FST_MEDIA_INVALID_OPTION', message: new RegExp(`^${field}\\.accept: ${message.source}`) })

t.test('a misspelt MIME type is refused, naming the entry and the closest known type', async (t) => {
  const cases: Array<[string, string]> = [
    ['application/pfd', 'application/pdf'],
    ['application/x-pdf', 'application/pdf'],
    ['image/jpg', 'image/jpeg'],
    ['image/svg', 'image/svg+xml'],
    ['audio/mp3', 'audio/mpeg'],
    ['imgae/png', 'image/png'],
    ['Application/PFD', 'application/pdf']
  ]
  for (const [entry, suggestion] of cases) {
    t.throws(() => FileField({ accept: [entry] }), invalidAccept('FileField', new RegExp(`"${entry.replace('/', '\\/')}" is not a type that can be detected from a file's bytes, so no file would ever be accepted, did you mean ${suggestion.replace(/[/+]/g, '\\$&')}\\?$`)), entry)
  }
  t.throws(() => ImageField({ accept: ['image/pgn'] }), invalidAccept('ImageField', /"image\/pgn" is not a type .* did you mean image\/png\?$/))
})

t.test('an unknown MIME type with nothing close is refused without a suggestion', async (t) => {
  for (const entry of ['text/html', 'text/markdown', 'application/javascript', 'application/foo']) {
    t.throws(() => FileField({ accept: [entry] }), invalidAccept('FileField', /".*" is not a type that can be detected from a file's bytes, so no file would ever be accepted$/), entry)
  }
})

t.test('types file-type never reports are refused, saying what a file of that kind is detected as', async (t) => {
  for (const entry of ['application/msword', 'application/vnd.ms-excel', 'application/vnd.ms-powerpoint']) {
    t.throws(() => FileField({ accept: [entry] }), invalidAccept('FileField', /".*" can never be accepted: the type is found from the file's bytes, and file-type reports old Office files \(\.doc, \.xls, \.ppt\) as application\/x-cfb$/), entry)
  }
  t.throws(() => ImageField({ accept: ['image/apng'] }), invalidAccept('ImageField', /"image\/apng" can never be accepted: .* an animated PNG is detected as image\/png$/))
  t.throws(() => FileField({ accept: ['application/xml'] }), invalidAccept('FileField', /"application\/xml" can never be accepted: .* XML is accepted only as SVG \(image\/svg\+xml\)$/))
  t.doesNotThrow(() => FileField({ accept: ['application/x-cfb'] }), 'the type old Office files are detected as')
})

t.test('extensions and wildcards are checked the same way', async (t) => {
  t.throws(() => FileField({ accept: ['.pfd'] }), invalidAccept('FileField', /"\.pfd" is not an extension that can be detected, did you mean \.pdf\?$/))
  t.throws(() => FileField({ accept: ['.qqq'] }), invalidAccept('FileField', /"\.qqq" is not an extension that can be detected$/))
  t.throws(() => FileField({ accept: ['.doc'] }), invalidAccept('FileField', /"\.doc" can never be accepted: file-type reports old Office files \(\.doc, \.xls, \.ppt\) as \.cfb$/))
  t.throws(() => FileField({ accept: ['.md'] }), invalidAccept('FileField', /"\.md" can never be accepted: the only text formats are \.txt, \.csv, \.json and \.svg$/))
  t.throws(() => FileField({ accept: ['imgae/*'] }), invalidAccept('FileField', /"imgae\/\*" matches no type that can be detected, did you mean image\/\*\?$/))
  t.throws(() => FileField({ accept: ['foo/*'] }), invalidAccept('FileField', /"foo\/\*" matches no type that can be detected$/))
})

t.test('every kind of valid entry is still taken', async (t) => {
  const { accept } = FileField({ accept: ['application/pdf', 'text/plain', 'text/csv', 'application/json', 'image/svg+xml', 'image/*', 'text/*', 'font/*', '.JPEG', '.tiff', '.svg', '.txt', '.xlsx', '.Z'] }).options
  t.same([...accept.types], ['application/pdf', 'text/plain', 'text/csv', 'application/json', 'image/svg+xml'])
  t.same(accept.wildcards, ['image/', 'text/', 'font/'])
  t.same([...accept.extensions], ['jpg', 'tif', 'svg', 'txt', 'xlsx', 'z'])
})
