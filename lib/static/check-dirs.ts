import { stat } from 'node:fs/promises'
import type { StaticDir } from '../options.js'

export interface StaticDirWarning {
  /** The option that names the dir: `static.dirs[0]`. */
  option: string
  dir: string
  message: string
}

/**
 * Django's staticfiles.W004: a static dir that is not there is worth a warning, not a failure (a deploy may
 * ship only `static.root`, and a dir may be created after the server starts; development finds its files
 * per request).
 */
export async function staticDirWarnings (dirs: readonly StaticDir[]): Promise<StaticDirWarning[]> {
  const warnings: StaticDirWarning[] = []
  for (const [i, { dir }] of dirs.entries()) {
    const option = `static.dirs[${i}]`
    const found = await stat(dir).catch(() => undefined)
    if (found === undefined) warnings.push({ option, dir, message: `fastify-media: the directory "${dir}" in ${option} does not exist` })
    else if (!found.isDirectory()) warnings.push({ option, dir, message: `fastify-media: "${dir}" in ${option} is not a directory` })
  }
  return warnings
}
