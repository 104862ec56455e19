/* eslint-disable @typescript-eslint/no-unused-vars -- an augmentation must repeat fastify's type parameters, used or not */
import type { FastifyBaseLogger, FastifySchema, FastifyTypeProvider, FastifyTypeProviderDefault, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerBase, RawServerDefault, RouteGenericInterface, ContextConfigDefault } from 'fastify'
import type { FastifyRequestType, ResolveFastifyRequestType } from 'fastify/types/type-provider.js'
import type { Fields, Model, Uploads } from './fields/model.js'
import type { MediaApi } from './plugin-api.js'

/** A route generic without `Uploads` (no `upload` option, or explicit generics without it) gets loose uploads. */
type UploadsFromGeneric<G> = G extends { Uploads?: infer U }
  ? (unknown extends U ? Record<string, unknown> : Exclude<U, undefined>)
  : Record<string, unknown>

/**
 * The route generic is inferred from the model's phantom `'~route'` (`{ Uploads: Uploads<F> }`). Partial, so
 * explicit generics (`{ Body: B; Uploads: UploadsOf<typeof M> }`) still accept the model, and a mismatched
 * `Uploads` is an error. TypeScript infers all of a call's type arguments or none, so explicit generics
 * without `Uploads` would leave `req.uploads` loose: they are refused, with the fix as the error's text.
 */
type UploadOption<RouteGeneric> = Model<any> & {
  readonly '~route'?: Partial<RouteGeneric> & {
    Uploads?: 'Uploads' extends keyof RouteGeneric ? unknown : 'explicit route generics need Uploads: UploadsOf<typeof YourModel>'
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    media: MediaApi
  }

  interface RouteGenericInterface {
    Uploads?: unknown
  }

  interface RouteShorthandOptions<
    RawServer extends RawServerBase = RawServerDefault,
    RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
    RawReply extends RawReplyDefaultExpression<RawServer> = RawReplyDefaultExpression<RawServer>,
    RouteGeneric extends RouteGenericInterface = RouteGenericInterface,
    ContextConfig = ContextConfigDefault,
    SchemaCompiler extends FastifySchema = FastifySchema,
    TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
    Logger extends FastifyBaseLogger = FastifyBaseLogger
  > {
    /** Makes the route an upload route for this model (multipart/form-data only). */
    upload?: UploadOption<RouteGeneric>
  }

  interface FastifyRequest<
    RouteGeneric extends RouteGenericInterface = RouteGenericInterface,
    RawServer extends RawServerBase = RawServerDefault,
    RawRequest extends RawRequestDefaultExpression<RawServer> = RawRequestDefaultExpression<RawServer>,
    SchemaCompiler extends FastifySchema = FastifySchema,
    TypeProvider extends FastifyTypeProvider = FastifyTypeProviderDefault,
    ContextConfig = ContextConfigDefault,
    Logger extends FastifyBaseLogger = FastifyBaseLogger,
    RequestType extends FastifyRequestType = ResolveFastifyRequestType<TypeProvider, SchemaCompiler, RouteGeneric>
  > {
    /** The files of an upload route; reading it elsewhere throws FST_MEDIA_NOT_UPLOAD_ROUTE. */
    uploads: UploadsFromGeneric<RouteGeneric>
  }
}

export type { Fields, Uploads }
