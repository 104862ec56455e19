import neostandard from 'neostandard'

export default neostandard({
  ts: true,
  ignores: ['dist/**', 'coverage/**', '.tap/**', 'example/media/**', 'example/staticfiles/**', 'benchmarks/.scratch/**']
})
