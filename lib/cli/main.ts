import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { summary } from '../static/collect.js'
import { sweepSummary } from '../lifecycle/sweep.js'
import { nginxConfig } from '../nginx/config.js'
import { CliError, loadApp, type LoadedApp } from './load-app.js'
import { NoListen } from './no-listen.js'

export interface Io {
  out: (line: string) => void
  err: (line: string) => void
  /** Draws over the current line of stderr (the progress bar); only set on a TTY. */
  progress?: (text: string) => void
}

const USAGE = `Usage: fastify-media <command> [options]

Commands:
  collectstatic <app-module>   copy, hash and compress every static file into static.root
      --clear                  empty static.root first
      --dry-run                say what would be done, write nothing
      --ignore <glob>          leave matching paths out (repeatable)
      --no-post-process        copy only: no hashed names, no manifest
      --no-compress            no .br/.gz variants
      --brotli-quality N       brotli quality of the .br variants, 0 to 11 (default 11: smallest, slowest)
  findstatic <app-module> <path>   every static dir holding <path>, the one that wins first
  sweep <app-module>           remove stored files no record names (the app's isReferenced option says
                               which it holds) and abandoned uploads
      --storage <name>         the storage to sweep (default: default)
      --older-than <age>       only files older than this: 90s, 30m, 12h, 1d (default 1d)
      --dry-run                count what would go, remove nothing
  nginx <app-module>           print an nginx config fragment (for a server { } block) that serves
                               static.root and public media from disk and proxies the rest to the app
      --upstream <host:port>   where the app listens (default 127.0.0.1:3000; unix:/path for a socket)
      --brotli                 the nginx has ngx_brotli: send the .br files too
  All take --timeout <ms>: how long loading the app may take (default 5000).
  help                         show this help
  version                      show the version

<app-module> is your server module: it registers fastify-media and calls listen() at its top level (under
the CLI no port is opened, and process.env.FASTIFY_MEDIA_CLI names the command); or it default-exports a
Fastify plugin, or a function of no parameters returning an app.`

const DEFAULT_TIMEOUT = 5000

function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

async function collectstatic (args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      clear: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      ignore: { type: 'string', multiple: true },
      'no-post-process': { type: 'boolean' },
      'no-compress': { type: 'boolean' },
      'brotli-quality': { type: 'string' },
      timeout: { type: 'string' }
    }
  })
  if (positionals.length !== 1) throw new UsageError('collectstatic takes one <app-module>')
  return await withApp('collectstatic', positionals[0] as string, values.timeout, async ({ media }) => {
    const dryRun = values['dry-run'] === true
    const result = await media.collectstatic({
      clear: values.clear,
      dryRun,
      ignore: values.ignore,
      postProcess: values['no-post-process'] !== true,
      compress: values['no-compress'] !== true,
      brotliQuality: brotliQualityArg(values['brotli-quality']),
      onProgress: io.progress === undefined ? undefined : progressBar(io.progress)
    })
    for (const file of result.shadowed) {
      io.out(`Found another file with the destination path '${file.path}' in ${file.from.dir}. It will be ignored since only the first encountered file is collected.`)
    }
    if (media.config.static !== false && media.config.static.storage !== undefined) io.out(`${dryRun ? 'Would upload' : 'Uploaded'} ${result.uploaded.length} files to static.storage`)
    io.out((dryRun ? 'Pretending: ' : '') + summary(result))
    return 0
  })
}

function brotliQualityArg (value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^(\d|1[01])$/.test(value)) throw new UsageError(`--brotli-quality takes an integer from 0 to 11, not ${JSON.stringify(value)}`)
  return Number(value)
}

async function findstatic (args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { timeout: { type: 'string' } } })
  if (positionals.length !== 2) throw new UsageError('findstatic takes an <app-module> and a <path>')
  const [modulePath, path] = positionals as [string, string]
  return await withApp('findstatic', modulePath, values.timeout, async ({ media }) => {
    const found = await media.findstatic(path)
    if (found.length === 0) {
      io.err(`No matching file found for '${path}'.`)
      return 1
    }
    io.out(`Found '${path}' here:`)
    for (const file of found) io.out(`  ${file.source}`)
    return 0
  })
}

async function sweepCommand (args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      storage: { type: 'string' },
      'older-than': { type: 'string' },
      'dry-run': { type: 'boolean' },
      timeout: { type: 'string' }
    }
  })
  if (positionals.length !== 1) throw new UsageError('sweep takes one <app-module>')
  return await withApp('sweep', positionals[0] as string, values.timeout, async ({ media }) => {
    const draw = io.progress
    const result = await media.sweep({
      storage: values.storage,
      olderThan: values['older-than'],
      dryRun: values['dry-run'] === true,
      // the total is not known before the end: the bar counts
      onProgress: draw === undefined ? undefined : ({ scanned, removed }) => { draw(`sweeping: ${scanned} scanned, ${removed} ${values['dry-run'] === true ? 'to remove' : 'removed'}`) }
    })
    io.out((result.dryRun ? 'Pretending: ' : '') + sweepSummary(result))
    return 0
  })
}

async function nginxCommand (args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { upstream: { type: 'string' }, brotli: { type: 'boolean' }, timeout: { type: 'string' } }
  })
  if (positionals.length !== 1) throw new UsageError('nginx takes one <app-module>')
  const upstream = values.upstream ?? '127.0.0.1:3000'
  if (!/^(unix:\/\S+|[\w.-]+:\d+|\[[\da-f:]+\]:\d+)$/i.test(upstream)) throw new UsageError(`--upstream takes host:port or unix:/path, not "${upstream}"`)
  return await withApp('nginx', positionals[0] as string, values.timeout, async ({ media }) => {
    const { text, warnings } = nginxConfig(media.config, { upstream, brotli: values.brotli === true })
    io.out(text)
    for (const warning of warnings) io.err(`fastify-media: warning: ${warning}`)
    return 0
  })
}

/** Loads the app with no port opened, runs `work` on it, and closes it. */
async function withApp (command: string, modulePath: string, timeout: string | undefined, work: (loaded: LoadedApp) => Promise<number>): Promise<number> {
  const ms = timeout === undefined ? DEFAULT_TIMEOUT : Number(timeout)
  if (!Number.isInteger(ms) || ms <= 0) throw new UsageError(`--timeout takes a number of milliseconds, not "${timeout}"`)
  const guard = new NoListen(command)
  try {
    const loaded = await loadApp(modulePath, guard, ms)
    try {
      return await work(loaded)
    } finally {
      await loaded.close()
    }
  } finally {
    guard.leave()
  }
}

function progressBar (draw: (text: string) => void): (done: number, total: number) => void {
  return (done, total) => {
    const width = 30
    const filled = Math.round(width * done / total)
    draw(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`)
  }
}

class UsageError extends Error {}

/** The `fastify-media` command; returns the exit code instead of exiting, so it can be tested in-process. */
export async function main (argv: string[], io: Io): Promise<number> {
  const [command, ...args] = argv
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE)
        return 0
      case 'version':
      case '--version':
      case '-v':
        io.out(version())
        return 0
      case 'collectstatic':
        return await collectstatic(args, io)
      case 'findstatic':
        return await findstatic(args, io)
      case 'sweep':
        return await sweepCommand(args, io)
      case 'nginx':
        return await nginxCommand(args, io)
      default:
        throw new UsageError(`unknown command "${command}"`)
    }
  } catch (err) {
    if (err instanceof UsageError || String((err as { code?: string }).code).startsWith('ERR_PARSE_ARGS_')) {
      io.err(`fastify-media: ${(err as Error).message}\n\n${USAGE}`)
      return 2
    }
    io.err(`fastify-media: ${err instanceof CliError ? err.message : (err as Error).message}`)
    return 1
  }
}
