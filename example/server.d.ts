// Types of server.js for the TypeScript tests that import it.
import type { FastifyInstance, FastifyServerOptions } from 'fastify'

export interface BuildAppOptions {
  /** Public uploads (avatars, documents): relative to example/, or absolute. Default `media`. */
  mediaRoot?: string
  /** profiles.json and the private storage (contracts): relative to example/, or absolute. Default `data`. */
  dataDir?: string
  /** Where collectstatic gathers static files: relative to example/, or absolute. Default `staticfiles`. */
  staticRoot?: string
  /** Static serving; default from NODE_ENV. */
  mode?: 'development' | 'production'
  /** Signs the contracts' links; default MEDIA_SIGNING_KEY, else a random key per process. */
  signingKey?: string | Buffer
  /**
   * A bucket for the video field, sent there straight from the browser. Without it the page explains how to
   * turn it on. The SDK reads the region and credentials from the environment.
   */
  s3?: { bucket: string, endpoint?: string }
  logger?: FastifyServerOptions['logger']
}

/** The demo app with fastify-media registered, ready (not listening). */
export function buildApp (options?: BuildAppOptions): Promise<FastifyInstance>
export function escapeHtml (value: unknown): string
export const humanSize: (bytes: number) => string
/** The URL the list shows for an avatar. */
export function avatarSrc (file: { url: string, thumb: string }): string
