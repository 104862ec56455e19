// Upload errors in plain words, chosen by the error's code (never its text) and shown next to the field
// they concern. The plugin's own messages are written for developers and logs.
import { FIELDS, FILE_FIELDS, NAME_MAX, TOTAL_SIZE } from './form.js'

const FIELD_MESSAGES = {
  FST_MEDIA_FILE_TOO_LARGE: (spec) => `This file is larger than ${spec.maxSize}. Choose a smaller one.`,
  FST_MEDIA_FILE_TOO_SMALL: () => 'This file is empty.',
  FST_MEDIA_INVALID_TYPE: (spec) => `This file is not ${spec.what}, whatever its name says.`,
  FST_MEDIA_EXTENSION_MISMATCH: (spec) => `The file's name does not match its content. Give ${spec.what} its usual extension (${spec.extensions.join(', ')}).`,
  FST_MEDIA_INVALID_IMAGE: () => 'This image cannot be read, or it has too many pixels.',
  FST_MEDIA_FIELD_REQUIRED: (spec) => `Choose ${spec.what}.`,
  FST_MEDIA_TOO_MANY_FILES: () => 'Choose one file only.',
  FST_MEDIA_INVALID_NAME: () => 'Rename the file: its name has no letters or digits.',
  // a direct upload's token or a resumable upload's URL: expired, already used, or nothing arrived
  FST_MEDIA_INVALID_TOKEN: (spec) => spec.resumable
    ? 'The upload of this file expired or was already used. Please send it again.'
    : 'The file sent to the bucket expired or was already used. Please send it again.'
}

const FORM_MESSAGES = {
  FST_MEDIA_LIMIT: `The form is too large: too many fields, a text too long, or more than ${TOTAL_SIZE} in all.`,
  FST_MEDIA_BAD_MULTIPART: 'The upload was cut off or garbled on the way. Please try again.',
  FST_MEDIA_NOT_MULTIPART: 'The form must be sent as multipart/form-data.',
  FST_MEDIA_UNKNOWN_FIELD: 'The form sent a file this page does not ask for.',
  FST_MEDIA_TOO_MANY_FILES: 'The form sent too many files.'
}

export const SERVER_TROUBLE = 'Something went wrong on our side. Please try again.'

/**
 * `{ field, message, code }`: `field` is one of FIELDS when the error concerns one (the plugin's refusals
 * say which in `error.field`), else undefined (the message goes above the form).
 */
export function describeError (error) {
  const code = error.code
  const status = error.statusCode >= 400 ? error.statusCode : 500
  if (status >= 500) return { field: undefined, message: SERVER_TROUBLE, code, status }
  if (error.validation !== undefined) {
    return { field: 'name', message: `Enter a name of 1 to ${NAME_MAX} characters.`, code, status }
  }
  const field = FIELDS.includes(error.field) ? error.field : undefined
  const fieldMessage = FIELD_MESSAGES[code]
  if (field !== undefined && fieldMessage !== undefined) return { field, message: fieldMessage(FILE_FIELDS[field]), code, status }
  return { field: undefined, message: FORM_MESSAGES[code] ?? 'The form was refused. Please check it and try again.', code, status }
}
