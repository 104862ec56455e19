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
  },
  // sent by the page's script to the demo's tus endpoint (README: "Resumable uploads"), kept on disk: a cut
  // connection resumes where the server stopped. The form then carries the upload's URL in its place; without
  // script the file goes in the form, as any other
  recording: {
    label: 'Recording',
    required: false,
    maxSize: '500 MB',
    types: ['video/mp4', 'video/webm'],
    extensions: ['.mp4', '.webm'],
    what: 'an MP4 or WebM video',
    resumable: true
  },
  // sent by the browser straight to the bucket (README: "Direct uploads"), shown only when the demo runs
  // against S3; the form then carries a token in its place, and the upload route checks the file
  video: {
    label: 'Video',
    required: false,
    maxSize: '500 MB',
    types: ['video/mp4', 'video/webm'],
    extensions: ['.mp4', '.webm'],
    what: 'an MP4 or WebM video',
    direct: true
  }
}

/** Every field an error can be shown next to. */
export const FIELDS = ['name', ...Object.keys(FILE_FIELDS)]

/** The files that may pass through the app: the video goes to the bucket (a recording comes in the form without script). */
export const APP_FILES = Object.values(FILE_FIELDS).filter((spec) => spec.direct !== true).length

/**
 * Bounds one request: the largest document, the largest contract and an avatar, with room for the rest (a
 * recording sent without script must fit in it).
 */
export const TOTAL_SIZE = '40 MB'

/** How long a signed link to a contract stays valid, in seconds. */
export const CONTRACT_LINK_SECONDS = 300

/** Where app.media.directRoutes mounts the routes the browser calls for the video. */
export const DIRECT_PREFIX = '/direct'

/** Where app.media.resumable mounts the tus endpoint the page sends recordings to. */
export const RESUMABLE_PREFIX = '/uploads'

/** Videos above this go to the bucket in parts (S3 multipart), signed one by one. */
export const MULTIPART_ABOVE = 16 * 2 ** 20
