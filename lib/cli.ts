import { readFileSync } from 'node:fs'

export interface Io {
  out: (line: string) => void
  err: (line: string) => void
}

const USAGE = `Usage: fastify-media <command> [options]

Commands:
  help             show this help
  version          show the version

collectstatic and findstatic arrive with the static-files half of fastify-media.`

function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

/** The `fastify-media` command; returns the exit code instead of exiting, so it can be tested in-process. */
export async function main (argv: string[], io: Io): Promise<number> {
  const [command] = argv
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
    default:
      io.err(`fastify-media: unknown command "${command}"\n\n${USAGE}`)
      return 2
  }
}
