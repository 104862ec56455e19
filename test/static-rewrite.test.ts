import t from 'tap'
import { createHash } from 'node:crypto'
import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from 'node:zlib'
import { compressVariants, isCompressible, WORTH_IT } from '../lib/static/compress.js'
import { DEFAULT_IGNORE, ignoreMatcher } from '../lib/static/ignore.js'
import { hashedName } from '../lib/static/manifest.js'
import { isAdjustable, rewriteReferences } from '../lib/static/rewrite.js'

// What the resolver knows: collected path -> hashed path (all under static.url).
const HASHED: Record<string, string> = {
  'css/base.css': 'css/base.111111111111.css',
  'css/print.css': 'css/print.222222222222.css',
  'css/theme/dark.css': 'css/theme/dark.333333333333.css',
  'css/app.css.map': 'css/app.css.444444444444.map',
  'img/logo.png': 'img/logo.aaaaaaaaaaaa.png',
  'img/icons.svg': 'img/icons.bbbbbbbbbbbb.svg',
  'img/my image.png': 'img/my image.cccccccccccc.png',
  'img/100%.png': 'img/100%.dddddddddddd.png',
  'fonts/icons.eot': 'fonts/icons.eeeeeeeeeeee.eot',
  'js/app.js.map': 'js/app.js.555555555555.map',
  'js/app.mjs.map': 'js/app.mjs.666666666666.map',
  'js/app.cjs.map': 'js/app.cjs.777777777777.map',
  u: 'u.cccccccccccc'
}

interface Case {
  name: string
  /** The file's path under static.url (default css/app.css). */
  path?: string
  text: string
  /** The rewritten text (default: unchanged). */
  expected?: string
  missing?: string[]
  /** What the resolver must have been asked, in order (checked when given). */
  asked?: string[]
}

const CASES: Case[] = [
  { name: 'unquoted url()', text: '.a { background: url(../img/logo.png); }', expected: '.a { background: url(../img/logo.aaaaaaaaaaaa.png); }', asked: ['img/logo.png'] },
  { name: 'single-quoted url()', text: ".a { background: url('../img/logo.png'); }", expected: ".a { background: url('../img/logo.aaaaaaaaaaaa.png'); }" },
  { name: 'double-quoted url()', text: '.a { background: url("../img/logo.png"); }', expected: '.a { background: url("../img/logo.aaaaaaaaaaaa.png"); }' },
  { name: 'spaces inside url( ) are kept', text: '.a { background: url(  "../img/logo.png"  ); }', expected: '.a { background: url(  "../img/logo.aaaaaaaaaaaa.png"  ); }' },
  { name: 'spaces inside unquoted url( ) are kept', text: '.a { background: url( ../img/logo.png ); }', expected: '.a { background: url( ../img/logo.aaaaaaaaaaaa.png ); }' },
  { name: 'a one-letter reference cannot hit the function name', path: 'u.css', text: 'a { b: url(u) }', expected: 'a { b: url(u.cccccccccccc) }', asked: ['u'] },
  { name: 'same directory', text: '.a { background: url(base.css); }', expected: '.a { background: url(base.111111111111.css); }' },
  { name: 'sub directory', text: '@import "theme/dark.css";', expected: '@import "theme/dark.333333333333.css";' },
  { name: 'top-level file', path: 'site.css', text: 'a { b: url(img/logo.png) }', expected: 'a { b: url(img/logo.aaaaaaaaaaaa.png) }', asked: ['img/logo.png'] },
  { name: 'two levels up', path: 'css/theme/dark.css', text: "a { b: url('../../img/logo.png') no-repeat }", expected: "a { b: url('../../img/logo.aaaaaaaaaaaa.png') no-repeat }" },
  { name: 'several on a line', text: 'a{b:url(../img/logo.png),url("../img/icons.svg#x")}', expected: 'a{b:url(../img/logo.aaaaaaaaaaaa.png),url("../img/icons.bbbbbbbbbbbb.svg#x")}' },
  { name: "@import 'x.css' screen;", text: "@import 'base.css' screen;", expected: "@import 'base.111111111111.css' screen;" },
  { name: '@import url() print;', text: '@import url("print.css") print;', expected: '@import url("print.222222222222.css") print;' },
  { name: '@import without a space (minified CSS)', text: '@import"base.css";a{color:red}', expected: '@import"base.111111111111.css";a{color:red}' },
  { name: '?#iefix kept', text: 'src: url(../fonts/icons.eot?#iefix) format("embedded-opentype")', expected: 'src: url(../fonts/icons.eeeeeeeeeeee.eot?#iefix) format("embedded-opentype")', asked: ['fonts/icons.eot'] },
  { name: '?query kept', text: 'a { b: url(../img/logo.png?v=3) }', expected: 'a { b: url(../img/logo.aaaaaaaaaaaa.png?v=3) }' },
  { name: '#fragment kept', text: 'a { mask: url("../img/icons.svg#star") }', expected: 'a { mask: url("../img/icons.bbbbbbbbbbbb.svg#star") }', asked: ['img/icons.svg'] },
  { name: '/static/ absolute', text: 'a { b: url(/static/img/logo.png) }', expected: 'a { b: url(/static/img/logo.aaaaaaaaaaaa.png) }', asked: ['img/logo.png'] },
  { name: '/static/ absolute with a fragment', text: 'a { b: url("/static/img/icons.svg#star") }', expected: 'a { b: url("/static/img/icons.bbbbbbbbbbbb.svg#star") }' },
  { name: 'other root-absolute paths left alone', text: 'a { b: url(/images/logo.png) } c { d: url(/staticky/img/logo.png) }', asked: [] },
  { name: 'data: left alone', text: 'a { b: url(data:image/png;base64,iVBORw0KGgo=) } c { d: url("data:image/svg+xml;utf8,<svg/>") }', asked: [] },
  { name: 'a data: URI holding url(#id) is one reference, left alone (Django #36348)', text: 'a { b: url("data:image/svg+xml,%3Csvg%3E%3Cpath fill=\'url(%23b)\'/%3E%3C/svg%3E") } c { d: url(\'data:image/svg+xml,<svg><path fill="url(#b)"/></svg>\') } e { f: url(../img/logo.png) }', expected: 'a { b: url("data:image/svg+xml,%3Csvg%3E%3Cpath fill=\'url(%23b)\'/%3E%3C/svg%3E") } c { d: url(\'data:image/svg+xml,<svg><path fill="url(#b)"/></svg>\') } e { f: url(../img/logo.aaaaaaaaaaaa.png) }', asked: ['img/logo.png'] },
  { name: 'an escaped quote inside a quoted url() does not end it', text: 'a { b: url("data:image/svg+xml,<svg a=\\"url(x.png)\\"/>") }', asked: [] },
  { name: 'references in comments are left alone (Django #21080)', text: '/* @import url("gone.css"); */\n/* a { b: url(../img/nope.png) }\n@import "old.css"; */ a { b: url(../img/logo.png) }', expected: '/* @import url("gone.css"); */\n/* a { b: url(../img/nope.png) }\n@import "old.css"; */ a { b: url(../img/logo.aaaaaaaaaaaa.png) }', asked: ['img/logo.png'] },
  { name: 'an unclosed comment runs to the end', text: 'a { b: url(../img/logo.png) } /* url(x.png)', expected: 'a { b: url(../img/logo.aaaaaaaaaaaa.png) } /* url(x.png)' },
  { name: 'url() inside another string is not a reference', text: 'a::after { content: "url(x.png)" } b::after { content: \'@import "y.css"\' }', asked: [] },
  { name: 'a comment marker inside a string is not a comment', text: 'a { content: "/*" } b { c: url(../img/logo.png) } d { content: "*/" }', expected: 'a { content: "/*" } b { c: url(../img/logo.aaaaaaaaaaaa.png) } d { content: "*/" }' },
  { name: 'absolute URLs left alone', text: 'a { b: url(https://cdn.example.com/x.png) } c { d: url(http://x.test/y.png) } e { f: url(//cdn.example.com/y.png) }', asked: [] },
  { name: '@import of an absolute URL left alone', text: "@import 'https://fonts.example.com/css?family=X';", asked: [] },
  { name: 'bare #fragment left alone', text: 'a { fill: url(#gradient) }', asked: [] },
  { name: 'empty url() left alone', text: "a { b: url() } c { d: url('') }", asked: [] },
  { name: 'a missing file is reported, the text kept', text: 'a { b: url(../img/nope.png) }', missing: ['../img/nope.png'] },
  { name: 'a missing file with a suffix is reported without it', text: 'a { b: url(../img/nope.svg#x) }', missing: ['../img/nope.svg'] },
  { name: 'a path out of static.url is missing', text: 'a { b: url(../../../etc/passwd) }', missing: ['../../../etc/passwd'] },
  { name: 'CSS sourceMappingURL', text: 'a{}\n/*# sourceMappingURL=app.css.map */\n', expected: 'a{}\n/*# sourceMappingURL=app.css.444444444444.map */\n', asked: ['css/app.css.map'] },
  { name: 'JS sourceMappingURL', path: 'js/app.js', text: 'export {}\n//# sourceMappingURL=app.js.map\n', expected: 'export {}\n//# sourceMappingURL=app.js.555555555555.map\n', asked: ['js/app.js.map'] },
  { name: 'legacy //@ sourceMappingURL', path: 'js/app.js', text: 'x()\n//@ sourceMappingURL=app.js.map', expected: 'x()\n//@ sourceMappingURL=app.js.555555555555.map' },
  { name: '.cjs sourceMappingURL', path: 'js/app.cjs', text: 'module.exports = {}\n//# sourceMappingURL=app.cjs.map', expected: 'module.exports = {}\n//# sourceMappingURL=app.cjs.777777777777.map' },
  { name: '.mjs sourceMappingURL', path: 'js/app.mjs', text: 'export {}\n//# sourceMappingURL=app.mjs.map', expected: 'export {}\n//# sourceMappingURL=app.mjs.666666666666.map' },
  { name: 'inline data: source map left alone', path: 'js/app.js', text: 'x()\n//# sourceMappingURL=data:application/json;base64,e30=\n', asked: [] },
  { name: 'url() in JS is not CSS', path: 'js/app.js', text: 'const css = "a { b: url(../img/logo.png) }"\n', asked: [] },
  { name: 'sourceMappingURL in a JS string is not a comment', path: 'js/app.js', text: "const tail = '//# sourceMappingURL=' + name\n", missing: [] },
  { name: 'uppercase URL() (CSS functions are case-insensitive)', text: '.a { background: URL(../img/logo.png); }', expected: '.a { background: URL(../img/logo.aaaaaaaaaaaa.png); }' },
  { name: 'percent-encoded reference: decoded to look up, encoded again', text: '.a { background: url(../img/my%20image.png); }', expected: '.a { background: url(../img/my%20image.cccccccccccc.png); }', asked: ['img/my image.png'] },
  { name: 'percent-encoded /static/ reference', text: 'a { b: url(/static/img/my%20image.png) }', expected: 'a { b: url(/static/img/my%20image.cccccccccccc.png) }', asked: ['img/my image.png'] }
]

t.test('rewriteReferences', async (t) => {
  for (const c of CASES) {
    t.test(c.name, async (t) => {
      const asked: string[] = []
      const result = rewriteReferences(c.path ?? 'css/app.css', c.text, '/static/', (path) => {
        asked.push(path)
        return HASHED[path]
      })
      t.equal(result.content, c.expected ?? c.text, 'content')
      t.same(result.missing, c.missing ?? [], 'missing')
      if (c.asked !== undefined) t.same(asked, c.asked, 'resolver asked')
    })
  }
})

t.test('rewriteReferences: a stray % (not an escape) is not a crash', async (t) => {
  // browsers keep a % that starts no escape as it is; either reading is fine, a URIError is not
  let result: ReturnType<typeof rewriteReferences> | undefined
  t.doesNotThrow(() => {
    result = rewriteReferences('css/app.css', '.a { background: url(../img/100%.png); } .b { background: url(../img/nope%.png); }', '/static/', (path) => HASHED[path])
  })
  t.ok(result?.missing.includes('../img/nope%.png'), 'an unknown one is missing, as any other')
})

t.test('rewriteReferences honours another static.url', async (t) => {
  const result = rewriteReferences('css/app.css', 'a { b: url(/assets/img/logo.png) } c { d: url(/static/img/logo.png) }', '/assets/', (path) => HASHED[path])
  t.equal(result.content, 'a { b: url(/assets/img/logo.aaaaaaaaaaaa.png) } c { d: url(/static/img/logo.png) }')
})

t.test('isAdjustable: the files whose references are rewritten', async (t) => {
  for (const path of ['a.css', 'css/a.css', 'js/a.js', 'js/a.mjs', 'A.CSS']) t.ok(isAdjustable(path), path)
  for (const path of ['a.png', 'a.css.map', 'a.scss', 'a.svg', 'css']) t.notOk(isAdjustable(path), path)
})

t.test('ignoreMatcher', async (t) => {
  const table: Array<[readonly string[], string, boolean]> = [
    [DEFAULT_IGNORE, '.env', true],
    [DEFAULT_IGNORE, 'css/.hidden/x.css', true],
    [DEFAULT_IGNORE, 'css/.DS_Store', true],
    [DEFAULT_IGNORE, 'css/app.css~', true],
    [DEFAULT_IGNORE, 'CVS/Entries', true],
    [DEFAULT_IGNORE, 'vendor/CVS/Root', true],
    [DEFAULT_IGNORE, 'css/app.css', false],
    [DEFAULT_IGNORE, 'a.b/c.css', false],
    [DEFAULT_IGNORE, 'CVSROOT/x', false],
    [DEFAULT_IGNORE, 'x~y.css', false],
    [['*.map'], 'app.css.map', true],
    [['*.map'], 'css/app.css.map', true],
    [['*.map'], 'css/app.css', false],
    [['*.map'], 'map', false],
    [['js/**'], 'js/a.js', true],
    [['js/**'], 'js/a/b.js', true],
    [['js/**'], 'lib/js/a.js', false],
    [['js/**'], 'js.js', false],
    [['vendor/*.js'], 'vendor/a.js', true],
    [['vendor/*.js'], 'vendor/x/a.js', false],
    [['vendor/*.js'], 'x/vendor/a.js', false],
    [['?.txt'], 'a.txt', true],
    [['?.txt'], 'd/a.txt', true],
    [['?.txt'], 'ab.txt', false],
    [['a+b.css'], 'a+b.css', true],
    [['a+b.css'], 'aab.css', false],
    [['(x).css'], '(x).css', true],
    [['*.scss', '*.less'], 'css/a.less', true],
    [['**/*.map'], 'css/app.css.map', true],
    [['**/*.map'], 'app.css.map', true],
    [['*.{scss,less}'], 'css/a.scss', true],
    [['*.{scss,less}'], 'css/a.less', true],
    [['*.{scss,less}'], 'css/a.css', false],
    [['[ab].css'], 'css/a.css', true],
    [['[ab].css'], 'b.css', true],
    [['[ab].css'], 'c.css', false],
    [['[!a].css'], 'b.css', true],
    [['[!a].css'], 'a.css', false],
    [['*'], '.env', true],
    [['!a.css'], 'b.css', false],
    [['!a.css'], '!a.css', true],
    [['src/*.{scss,sass}'], 'src/x.sass', true],
    [[], '.env', false]
  ]
  for (const [patterns, path, ignored] of table) {
    t.equal(ignoreMatcher(patterns)(path), ignored, `${JSON.stringify(patterns)} ${ignored ? 'ignores' : 'keeps'} ${path}`)
  }
})

t.test('hashedName', async (t) => {
  const md5 = (text: string): string => createHash('md5').update(text).digest('hex').slice(0, 12)
  const table: Array<[string, string, string]> = [
    ['x.css', '', 'x.d41d8cd98f00.css'],
    ['hello.txt', 'hello', 'hello.5d41402abc4b.txt'],
    ['css/app.css', 'body{}', `css/app.${md5('body{}')}.css`],
    ['css/app.css.map', '{}', `css/app.css.${md5('{}')}.map`],
    ['a/b/c.tar.gz', 'z', `a/b/c.tar.${md5('z')}.gz`],
    ['LICENSE', 'mit', `LICENSE.${md5('mit')}`],
    ['dir.v2/file', 'f', `dir.v2/file.${md5('f')}`],
    ['.htaccess', 'h', `.htaccess.${md5('h')}`],
    ['img/my image.png', 'p', `img/my image.${md5('p')}.png`]
  ]
  for (const [path, content, expected] of table) t.equal(hashedName(path, Buffer.from(content)), expected, `${path} + ${JSON.stringify(content)}`)
  t.equal(hashedName('a.css', Buffer.from('x')), hashedName('a.css', Buffer.from('x')), 'same content, same name')
  t.not(hashedName('a.css', Buffer.from('x')), hashedName('a.css', Buffer.from('y')), 'other content, other name')
})

t.test('isCompressible', async (t) => {
  for (const path of ['a.css', 'a.js', 'a.mjs', 'a.css.map', 'a.json', 'a.svg', 'a.html', 'a.txt', 'a.xml', 'a.ico', 'a.wasm', 'a.eot', 'a.ttf', 'A.CSS', 'a.cjs', 'site.webmanifest', 'a.htm']) t.ok(isCompressible(path), path)
  for (const path of ['a.png', 'a.jpg', 'a.webp', 'a.avif', 'a.gif', 'a.woff', 'a.woff2', 'a.gz', 'a.br', 'a.zip', 'css']) t.notOk(isCompressible(path), path)
})

/** `size` bytes, the first `randomShare` of them pseudo-random (the same every run), the rest zeros. */
function mixed (size: number, randomShare: number): Buffer {
  const buffer = Buffer.alloc(size)
  const random = Math.round(size * randomShare)
  for (let i = 0; i < random; i += 16) createHash('md5').update(String(i)).digest().copy(buffer, i, 0, Math.min(16, random - i))
  return buffer
}

t.test('compressVariants', async (t) => {
  const css = Buffer.from('.button { color: red; background: blue; }\n'.repeat(200))
  const { br, gz } = await compressVariants(css)
  t.ok(br !== undefined && gz !== undefined, 'text gains')
  t.ok(brotliDecompressSync(br!).equals(css), 'br decompresses to the original')
  t.ok(gunzipSync(gz!).equals(css), 'gz decompresses to the original')
  t.ok(br!.length <= css.length * 0.95 && gz!.length <= css.length * 0.95)
  t.same(gz!.subarray(0, 2), Buffer.from([0x1f, 0x8b]), 'a gzip stream')
  t.same(gz!.subarray(4, 8), Buffer.alloc(4), 'no time stamp in the header')
  t.equal(gz![8], 2, 'gzip -9 (XFL = maximum compression)')
  const again = await compressVariants(Buffer.from(css))
  t.ok(again.gz!.equals(gz!) && again.br!.equals(br!), 'deterministic')

  t.same(await compressVariants(mixed(4096, 1)), { br: undefined, gz: undefined }, 'random bytes: none')
  t.same(await compressVariants(Buffer.from('a')), { br: undefined, gz: undefined }, 'one byte: none')
  t.same(await compressVariants(Buffer.alloc(0)), { br: undefined, gz: undefined }, 'empty: none')

  t.equal(WORTH_IT, 0.95)
  // around the 95% line: a variant exactly when it is at most 95% of the original
  let kept = 0
  let dropped = 0
  for (let share = 0.86; share <= 1; share += 0.01) {
    const content = mixed(3000, share)
    const variants = await compressVariants(content)
    const gzLength = gzipSync(content, { level: 9 }).length
    const brLength = brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: content.length } }).length
    t.equal(variants.gz !== undefined, gzLength <= content.length * 0.95, `gz at ${Math.round(share * 100)}% random (${gzLength}/${content.length})`)
    t.equal(variants.br !== undefined, brLength <= content.length * 0.95, `br at ${Math.round(share * 100)}% random (${brLength}/${content.length})`)
    if (variants.gz === undefined) dropped++
    else kept++
  }
  t.ok(kept > 0 && dropped > 0, 'the sweep crosses the line')
})
