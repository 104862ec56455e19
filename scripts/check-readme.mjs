#!/usr/bin/env node
// Type-checks every ```ts block of README.md as its own ES module, the way a user's project would compile it:
// `strict`, `skipLibCheck: false`, `module: nodenext`, against the built package (dist/, as published), with
// the ambient names of scripts/readme-stubs.d.ts. With the optional AWS SDK, and with it hidden, as in a
// project that never installed it (a block importing @aws-sdk/* is checked in the first run only). When the
// first program reaches no file of @aws-sdk, hiding it cannot change a thing, and the second run is skipped.
//
//   node scripts/check-readme.mjs [README.md]      (run `npm run build` first)
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const readmePath = resolve(process.argv[2] ?? join(root, 'README.md'))
const stubs = join(root, 'scripts', 'readme-stubs.d.ts')

/** Every ```ts block: its text and the README line its code starts on. */
export function tsBlocks (markdown) {
  const blocks = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i])) continue
    const start = i + 1
    let end = start
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++
    blocks.push({ line: start + 1, code: lines.slice(start, end).join('\n') + '\n' })
    i = end
  }
  return blocks
}

const options = {
  strict: true,
  skipLibCheck: false,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  types: ['node'],
  noEmit: true
}

/**
 * Diagnostics of the blocks, each compiled as a module of its own file. The files live only in memory,
 * inside the repository, so `import ... from 'fastify-media'` resolves to this package's exports (dist/).
 */
export function checkBlocks (blocks, { hideAwsSdk }) {
  const files = new Map(blocks.map((block) => [join(root, '.readme', `README-line-${block.line}.ts`), block]))
  const host = ts.createCompilerHost(options)
  const hidden = (path) => hideAwsSdk && path.split(sep).join('/').includes('/node_modules/@aws-sdk')
  const { fileExists, readFile, getSourceFile, directoryExists } = host
  host.fileExists = (path) => files.has(path) || (!hidden(path) && fileExists.call(host, path))
  host.directoryExists = (path) => !hidden(path) && (directoryExists?.call(host, path) ?? true)
  host.readFile = (path) => files.get(path)?.code ?? (hidden(path) ? undefined : readFile.call(host, path))
  host.getSourceFile = (path, language, ...rest) => files.has(path)
    ? ts.createSourceFile(path, files.get(path).code, language, true)
    : getSourceFile.call(host, path, language, ...rest)
  const program = ts.createProgram([...files.keys(), stubs], options, host)
  const reachesAwsSdk = program.getSourceFiles().some((file) => file.fileName.includes('/node_modules/@aws-sdk/'))
  const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    const block = diagnostic.file === undefined ? undefined : files.get(diagnostic.file.fileName)
    if (block === undefined) {
      const where = diagnostic.file === undefined ? '' : `${diagnostic.file.fileName}: `
      return `${where}TS${diagnostic.code}: ${message}`
    }
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
    return `README.md:${block.line + line}:${character + 1}: TS${diagnostic.code}: ${message}`
  })
  return { diagnostics, reachesAwsSdk }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!existsSync(join(root, 'dist', 'index.d.ts'))) {
    console.error('check-readme: dist/ is missing: run `npm run build` first (the blocks compile against the built package)')
    process.exit(2)
  }
  const blocks = tsBlocks(readFileSync(readmePath, 'utf8'))
  const withoutSdk = blocks.filter((block) => !/from ['"]@aws-sdk\//.test(block.code))
  const withSdk = checkBlocks(blocks, { hideAwsSdk: false })
  const runs = [{ label: 'with the AWS SDK', diagnostics: withSdk.diagnostics }]
  if (withSdk.reachesAwsSdk) runs.push({ label: 'without the AWS SDK', diagnostics: checkBlocks(withoutSdk, { hideAwsSdk: true }).diagnostics })
  let failed = false
  for (const { label, diagnostics } of runs) {
    for (const diagnostic of diagnostics) console.error(`${diagnostic}  (${label})`)
    failed ||= diagnostics.length > 0
  }
  const without = withSdk.reachesAwsSdk ? `${withoutSdk.length} of them checked again without it` : 'none reaches a file of @aws-sdk, so they compile the same without it'
  console.log(`check-readme: ${blocks.length} ts blocks of ${readmePath} checked with the AWS SDK installed; ${without}: ${failed ? 'errors above' : 'no errors'}`)
  process.exitCode = failed ? 1 : 0
}
