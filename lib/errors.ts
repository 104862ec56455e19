import createError from '@fastify/error'

// Every error of the public contract, declared once. Users branch on `err.code` or `instanceof`.
// The first %s is always the field (or option) the error is about.

export const FST_MEDIA_NOT_MULTIPART = createError('FST_MEDIA_NOT_MULTIPART', '%s: upload routes accept multipart/form-data only', 415)
export const FST_MEDIA_FILE_TOO_LARGE = createError('FST_MEDIA_FILE_TOO_LARGE', '%s: file is larger than %s', 413)
export const FST_MEDIA_FILE_TOO_SMALL = createError('FST_MEDIA_FILE_TOO_SMALL', '%s: file is smaller than %s', 400)
export const FST_MEDIA_INVALID_TYPE = createError('FST_MEDIA_INVALID_TYPE', '%s: %s', 400)
export const FST_MEDIA_EXTENSION_MISMATCH = createError('FST_MEDIA_EXTENSION_MISMATCH', '%s: the file name says .%s but the content is %s', 400)
export const FST_MEDIA_INVALID_IMAGE = createError('FST_MEDIA_INVALID_IMAGE', '%s: %s', 400)
export const FST_MEDIA_FIELD_REQUIRED = createError('FST_MEDIA_FIELD_REQUIRED', '%s: this field is required', 400)
export const FST_MEDIA_UNKNOWN_FIELD = createError('FST_MEDIA_UNKNOWN_FIELD', '%s: the model declares no such file field', 400)
export const FST_MEDIA_TOO_MANY_FILES = createError('FST_MEDIA_TOO_MANY_FILES', '%s: too many files (at most %s)', 400)
export const FST_MEDIA_LIMIT = createError('FST_MEDIA_LIMIT', '%s: request limit passed (%s)', 413)
export const FST_MEDIA_INVALID_NAME = createError('FST_MEDIA_INVALID_NAME', '%s: %s', 400)
export const FST_MEDIA_BAD_MULTIPART = createError('FST_MEDIA_BAD_MULTIPART', '%s: malformed multipart body (%s)', 400)
export const FST_MEDIA_UPLOAD_TIMEOUT = createError('FST_MEDIA_UPLOAD_TIMEOUT', '%s: the upload did not finish within limits.uploadTimeout (%s ms)', 408)
export const FST_MEDIA_BAD_SIGNATURE = createError('FST_MEDIA_BAD_SIGNATURE', '%s: the signed URL is forged, altered or expired', 403)
export const FST_MEDIA_RANGE_NOT_SATISFIABLE = createError('FST_MEDIA_RANGE_NOT_SATISFIABLE', '%s: the requested range is outside the file', 416)
export const FST_MEDIA_PRECONDITION_FAILED = createError('FST_MEDIA_PRECONDITION_FAILED', '%s: If-Match or If-Unmodified-Since does not hold', 412)
export const FST_MEDIA_METHOD_NOT_ALLOWED = createError('FST_MEDIA_METHOD_NOT_ALLOWED', '%s: static files answer GET and HEAD, not %s', 405)
export const FST_MEDIA_INVALID_TOKEN = createError('FST_MEDIA_INVALID_TOKEN', '%s: %s', 400)
export const FST_MEDIA_VARIANT_FAILED = createError('FST_MEDIA_VARIANT_FAILED', '%s: variant %s cannot be made (%s)', 422)
export const FST_MEDIA_BUSY = createError('FST_MEDIA_BUSY', '%s: too much image work is waiting, retry later', 503)
export const FST_MEDIA_FILE_NOT_FOUND = createError('FST_MEDIA_FILE_NOT_FOUND', '%s: no such file in the storage', 404)

// Not request errors: a misconfiguration at register time, a route declared wrongly, or storage trouble.
export const FST_MEDIA_INVALID_OPTION = createError('FST_MEDIA_INVALID_OPTION', '%s: %s', 500)
export const FST_MEDIA_NOT_UPLOAD_ROUTE = createError('FST_MEDIA_NOT_UPLOAD_ROUTE', '%s', 500)
export const FST_MEDIA_STORAGE = createError('FST_MEDIA_STORAGE', '%s: storage failed (%s)', 500)
export const FST_MEDIA_STATIC_NOT_FOUND = createError('FST_MEDIA_STATIC_NOT_FOUND', '%s: %s', 500)
export const FST_MEDIA_COLLECT = createError('FST_MEDIA_COLLECT', 'collectstatic: %s', 500)

// Internal: never a response. It ends the image work of a request that is failing anyway.
export const FST_MEDIA_CANCELLED = createError('FST_MEDIA_CANCELLED', '%s: the request failed, so its image work stopped', 500)
