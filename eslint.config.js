import neostandard from 'neostandard'

export default neostandard({
  ts: true,
  // the fixture project's static files are data (a sourceMappingURL comment must look the way it does)
  ignores: ['dist/**', 'coverage/**', '.tap/**', 'example/media/**', 'example/staticfiles/**', 'example/data/**', 'benchmarks/.scratch/**', 'test/fixtures/static-project/static-*/**', 'test/fixtures/static-project/plugin-static/**']
})
