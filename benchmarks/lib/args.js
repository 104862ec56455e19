import { join, resolve } from 'node:path'

const usage = `usage: npm run bench -- [options]
  --quick            smoke run: 1 round of ~2 s per figure, small files (what CI runs; asserts no timings)
  --rounds N         interleaved rounds (default 3)
  --duration S       seconds per figure and round (default 10)
  --only a,b         scenarios: uploads-small, variants-lazy, uploads-large, uploads-direct, uploads-resumable, static,
                     static-mix, collectstatic, sweep (default: all)
  --dir PATH         scratch directory (default benchmarks/.scratch/run; emptied first)
  --tmpfs            scratch on /dev/shm (no disk in the figures)
  --out FILE         also write the markdown report there (a full run of every scenario writes
                     benchmarks/RESULTS.md unless --out is given)
  --keep             keep the scratch directory afterwards
  --cpu-prof DIR     run every server child with node --cpu-prof, profiles written to DIR`

export function parseArgs (argv, scenarios) {
  const args = { quick: false, rounds: undefined, duration: undefined, only: scenarios, dir: undefined, out: undefined, keep: false, help: false, cpuProf: undefined, usage }
  const value = (i) => {
    if (argv[i + 1] === undefined) throw new Error(`${argv[i]} needs a value\n${usage}`)
    return argv[i + 1]
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--quick') args.quick = true
    else if (arg === '--keep') args.keep = true
    else if (arg === '--tmpfs') args.dir = '/dev/shm/fastify-media-bench'
    else if (arg === '--help' || arg === '-h') args.help = true
    else if (arg === '--rounds') args.rounds = Number(value(i++))
    else if (arg === '--duration') args.duration = Number(value(i++))
    else if (arg === '--dir') args.dir = value(i++)
    else if (arg === '--out') args.out = value(i++)
    else if (arg === '--cpu-prof') args.cpuProf = resolve(value(i++))
    else if (arg === '--only') {
      args.only = value(i++).split(',').map((s) => s.trim()).filter(Boolean)
      const unknown = args.only.filter((s) => !scenarios.includes(s))
      if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}: one of ${scenarios.join(', ')}`)
    } else throw new Error(`unknown option ${arg}\n${usage}`)
  }
  args.rounds ??= args.quick ? 1 : 3
  args.duration ??= args.quick ? 2 : 10
  args.warmup = args.quick ? 1 : 2
  args.dir ??= join(import.meta.dirname, '..', '.scratch', 'run')
  const full = !args.quick && args.only.length === scenarios.length
  if (args.out === undefined && full) args.out = join(import.meta.dirname, '..', 'RESULTS.md')
  return args
}
