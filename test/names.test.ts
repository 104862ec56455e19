import t from 'tap'
import { formatBytes, parseBytes } from '../lib/bytes.js'
import { fitName, getValidName, normalizeStorageName, randomSuffix, splitExtension, withRandomSuffix } from '../lib/storage/valid-name.js'

t.test('getValidName keeps a safe base name (Django get_valid_name)', async (t) => {
  const cases: Array<[string, string]> = [
    ['report.pdf', 'report.pdf'],
    ['My Report (final).pdf', 'My_Report_final.pdf'],
    ['../../x.png', 'x.png'],
    ['..\\..\\x.png', 'x.png'],
    ['/etc/x.png', 'x.png'],
    ['C:\\Windows\\x.png', 'x.png'],
    ['\\\\srv\\share\\x.png', 'x.png'],
    ['a\u0000b\u0007c.png', 'abc.png'],
    ['evil\u202Egnp.exe', 'evilgnp.exe'],
    ['.htaccess', 'htaccess'],
    ['...png', 'png'],
    ['trailing.png...', 'trailing.png'],
    ['CON.png', '_CON.png'],
    ['com1.jpg', '_com1.jpg'],
    ['photo\u0301.png'.normalize('NFD'), 'phot\u00f3.png'],
    ['caf\u0065\u0301.png', 'café.png'],
    ['東京タワー.jpg', '東京タワー.jpg'],
    ['$.$.$', ''],
    ['???', ''],
    ['', ''],
    ['.', ''],
    ['..', ''],
    ['...', ''],
    ['__', '']
  ]
  for (const [input, expected] of cases) t.equal(getValidName(input), expected, JSON.stringify(input))
})

t.test('splitExtension takes the last extension; a leading dot is not one', async (t) => {
  t.same(splitExtension('a.tar.gz'), { stem: 'a.tar', ext: 'gz' })
  t.same(splitExtension('README'), { stem: 'README', ext: '' })
  t.same(splitExtension('.env'), { stem: '.env', ext: '' })
})

t.test('normalizeStorageName never leaves the root', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['docs/a.pdf', 'docs/a.pdf'],
    ['/docs//a.pdf', 'docs/a.pdf'],
    ['docs\\a.pdf', 'docs/a.pdf'],
    ['docs/./a.pdf', 'docs/a.pdf'],
    ['docs/../a.pdf', 'a.pdf'],
    ['../a.pdf', undefined],
    ['docs/../../a.pdf', undefined],
    ['a\u0000.pdf', undefined],
    ['', undefined],
    ['.', undefined],
    ['docs/', undefined]
  ]
  for (const [input, expected] of cases) t.equal(normalizeStorageName(input), expected, JSON.stringify(input))
})

t.test('fitName cuts the stem to the byte limit, keeping the extension and whole characters', async (t) => {
  const cjk = '東'.repeat(100) + '.png' // 304 bytes
  const fitted = fitName(`docs/${cjk}`, 255)!
  t.ok(Buffer.byteLength(fitted) <= 255)
  t.ok(fitted.endsWith('.png'))
  t.notOk(fitted.includes('\uFFFD'))
  t.equal(fitName('a.pdf', 255), 'a.pdf')
  t.equal(fitName('R'.repeat(300), 255), 'R'.repeat(255), 'a name without extension')
  t.equal(fitName(`${'d'.repeat(300)}/a.pdf`, 255), undefined, 'a directory alone too long')
  const ascii = fitName('x'.repeat(300) + '.jpg', 255)!
  t.equal(Buffer.byteLength(ascii), 255)
})

t.test('random suffixes are _ + 7 alphanumerics before the extension', async (t) => {
  t.match(randomSuffix(), /^_[a-zA-Z0-9]{7}$/)
  t.match(withRandomSuffix('docs/report.pdf', 255), /^docs\/report_[a-zA-Z0-9]{7}\.pdf$/)
  const long = withRandomSuffix('x'.repeat(250) + '.pdf', 255)!
  t.equal(Buffer.byteLength(long), 255)
  t.match(long, /_[a-zA-Z0-9]{7}\.pdf$/)
  t.equal(withRandomSuffix('abcdefghij/a.pdf', 16), undefined, 'no room for a suffix')
})

t.test('sizes parse in SI and IEC units', async (t) => {
  t.equal(parseBytes(1024), 1024)
  t.equal(parseBytes('10 MB'), 10_000_000)
  t.equal(parseBytes('2MiB'), 2_097_152)
  t.equal(parseBytes('1.5 kb'), 1500)
  t.equal(parseBytes('12'), 12)
  t.equal(parseBytes('1 GiB'), 2 ** 30)
  t.equal(parseBytes('2 TB'), 2e12)
  t.equal(parseBytes('1 TiB'), 2 ** 40)
  t.equal(parseBytes('1 parsec'), undefined)
  t.equal(parseBytes('lots'), undefined)
  t.equal(parseBytes(-1), undefined)
  t.equal(parseBytes(Infinity), undefined)
  t.equal(formatBytes(999), '999 B')
  t.equal(formatBytes(2_000_000), '2 MB')
  t.equal(formatBytes(1_500), '1.5 kB')
  t.equal(formatBytes(3e12), '3 TB')
})
