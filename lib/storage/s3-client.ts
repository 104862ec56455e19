/**
 * What S3Storage takes of the AWS SDK, typed structurally so that the published declarations never import
 * `@aws-sdk/*` (an optional peer dependency: a project without it must still compile with `skipLibCheck:
 * false`). An `S3Client` and an `S3ClientConfig` fit these types; the SDK itself is loaded at run time.
 */

/** A ready-made `S3Client` (from `@aws-sdk/client-s3`), or anything that sends its commands. */
export interface S3ClientLike {
  send (command: never): Promise<unknown>
  readonly config: object
}

/** `S3ClientConfig` (from `@aws-sdk/client-s3`): the options used most are named, any other passes to the SDK. */
export interface S3ClientConfigLike {
  region?: string | (() => Promise<string>)
  endpoint?: unknown
  forcePathStyle?: boolean
  credentials?: unknown
  [option: string]: any
}
