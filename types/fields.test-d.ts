import { FileField, ImageField, type FieldFile, type FieldSpec, type ImageFieldOptions, type PlaceholderKind, type Model, type UploadsOf, type UploadToContext } from '../lib/index.js'
import { expectType } from './helpers.js'

// the flags come from the options; required by default, single by default
expectType<FieldSpec<'file', true, false>>()(FileField())
expectType<FieldSpec<'file', true, false>>()(FileField({ uploadTo: 'docs/' }))
expectType<FieldSpec<'file', false, false>>()(FileField({ required: false }))
expectType<FieldSpec<'file', true, false>>()(FileField({ required: true, multiple: false }))
expectType<FieldSpec<'image', true, true>>()(ImageField({ multiple: true, maxCount: 5 }))
expectType<FieldSpec<'image', false, true>>()(ImageField({ multiple: true, required: false }))

// flags known only at run time: every shape they may take
const dynamic = FileField({ required: process.env.STRICT === '1', multiple: process.env.MANY === '1' })
expectType<FieldSpec<'file', boolean, boolean>>()(dynamic)
declare const dynamicUploads: UploadsOf<Model<{ d: typeof dynamic }>>
expectType<FieldFile | FieldFile[] | null>()(dynamicUploads.d)

// every option of the design, including an uploadTo function with a typed context
ImageField({
  uploadTo: (ctx) => {
    expectType<UploadToContext>()(ctx)
    return `${ctx.model}/${ctx.field}/${ctx.date.getUTCFullYear()}/${ctx.filename}`
  },
  accept: ['image/*', '.png'],
  maxSize: '2 MB',
  minSize: 1,
  required: false,
  multiple: true,
  maxCount: 5,
  storage: 'private',
  maxLength: 200,
  timeZone: 'Europe/Paris',
  formats: ['jpeg', 'png', 'webp', 'gif', 'avif', 'svg'],
  maxPixels: 40_000_000,
  minWidth: 1,
  maxWidth: 4000,
  minHeight: 1,
  maxHeight: 4000
})
FileField({ uploadTo: 'docs/{uuid}.{ext}', maxSize: 10_000_000 })

// @ts-expect-error -- not an option
FileField({ maxSize: 5, bogus: 1 })
// @ts-expect-error -- a typo of multiple
FileField({ mulitple: true })
// @ts-expect-error -- formats belong to ImageField
FileField({ formats: ['png'] })
// @ts-expect-error -- not an image format
ImageField({ formats: ['bmp'] })
// @ts-expect-error -- accept is a list
FileField({ accept: 'application/pdf' })
// @ts-expect-error -- a size is bytes or a string like '10 MB'
FileField({ maxSize: true })
// @ts-expect-error -- uploadTo is a template or a function
FileField({ uploadTo: 42 })
// @ts-expect-error -- an uploadTo function returns a name
FileField({ uploadTo: (ctx) => ctx.date })
// @ts-expect-error -- required is a boolean
FileField({ required: 'no' })

// options held in a variable: their flags are only known as boolean
declare const imageOptions: ImageFieldOptions
expectType<FieldSpec<'image', boolean, boolean, string, string, PlaceholderKind>>()(ImageField(imageOptions))
const singleOptions = { uploadTo: 'docs/', required: false } as const
expectType<FieldSpec<'file', false, false>>()(FileField(singleOptions))

// the design's own example: route params reach uploadTo as strings
ImageField({ uploadTo: (ctx) => `albums/${ctx.request?.params.id}/`, multiple: true, maxCount: 5 })
