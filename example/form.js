// The profile form, described once: the model's fields, the page's inputs, the browser's checks and the
// error messages all read it, so a limit changed here changes everywhere.

export const NAME_MAX = 100

/** The form's file fields in page order. `maxSize` is the field option; `what` names the accepted type. */
export const FILE_FIELDS = {
  avatar: {
    label: 'Avatar',
    required: true,
    maxSize: '2 MB',
    types: ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif'],
    extensions: ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif'],
    what: 'a JPEG, PNG, WebP, GIF or AVIF image'
  },
  document: {
    label: 'Document',
    required: false,
    maxSize: '25 MB',
    types: ['application/pdf'],
    extensions: ['.pdf'],
    what: 'a PDF'
  },
  contract: {
    label: 'Contract',
    required: false,
    maxSize: '10 MB',
    types: ['application/pdf'],
    extensions: ['.pdf'],
    what: 'a PDF',
    private: true
  }
}

/** Every field an error can be shown next to. */
export const FIELDS = ['name', ...Object.keys(FILE_FIELDS)]

/** Bounds one request: the largest document, the largest contract and an avatar, with room for the rest. */
export const TOTAL_SIZE = '40 MB'

/** How long a signed link to a contract stays valid, in seconds. */
export const CONTRACT_LINK_SECONDS = 300
