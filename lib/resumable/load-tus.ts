import type * as TusServer from '@tus/server'
import type * as TusFileStore from '@tus/file-store'
import type * as TusS3Store from '@tus/s3-store'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'

interface TusModules {
  '@tus/server': typeof TusServer
  '@tus/file-store': typeof TusFileStore
  '@tus/s3-store': typeof TusS3Store
}

/**
 * The tus packages are optional peer dependencies: loaded only when an app mounts a resumable endpoint,
 * with the install command in the message when one is missing.
 */
export async function loadTus<N extends keyof TusModules> (name: N, load = async (specifier: string): Promise<unknown> => await import(specifier)): Promise<TusModules[N]> {
  try {
    return await load(name) as TusModules[N]
  } catch {
    throw new FST_MEDIA_INVALID_OPTION('resumable', `resumable uploads need ${name}: npm install ${name}`)
  }
}
