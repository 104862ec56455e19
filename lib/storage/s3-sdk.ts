import { createRequire } from 'node:module'
import type * as ClientS3 from '@aws-sdk/client-s3'
import type * as LibStorage from '@aws-sdk/lib-storage'
import type * as Presigner from '@aws-sdk/s3-request-presigner'
import type * as PresignedPost from '@aws-sdk/s3-presigned-post'
import { FST_MEDIA_INVALID_OPTION } from '../errors.js'

export interface Sdk { s3: typeof ClientS3, storage: typeof LibStorage, presigner: typeof Presigner }

// The SDK is an optional peer dependency: loaded (synchronously, it is CommonJS) only when an S3Storage is
// made, with a clear message when it is not installed.
export function loadSdk (): Sdk {
  const require = createRequire(import.meta.url)
  try {
    return {
      s3: require('@aws-sdk/client-s3'),
      storage: require('@aws-sdk/lib-storage'),
      presigner: require('@aws-sdk/s3-request-presigner')
    }
  } catch {
    throw new FST_MEDIA_INVALID_OPTION('S3Storage', 'needs the AWS SDK: npm install @aws-sdk/client-s3 @aws-sdk/lib-storage @aws-sdk/s3-request-presigner')
  }
}

/** The POST-policy signer, needed only by fields with direct uploads. */
export function loadPresignedPost (): typeof PresignedPost {
  const require = createRequire(import.meta.url)
  try {
    return require('@aws-sdk/s3-presigned-post')
  } catch {
    throw new FST_MEDIA_INVALID_OPTION('direct', 'direct uploads to S3 need the POST-policy signer: npm install @aws-sdk/s3-presigned-post')
  }
}

// a conditional write refused because the key exists
export const preconditionFailed = (err: unknown): boolean => {
  const e = err as { name?: string, $metadata?: { httpStatusCode?: number } }
  return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412
}

export const notFound = (err: unknown): boolean => {
  const e = err as { name?: string, $metadata?: { httpStatusCode?: number } }
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404
}
