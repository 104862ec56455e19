import { ListObjectsV2Command, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3'
import type { PresignedForm } from '../lib/index.js'

/** The first bytes of an MP4 (an `ftyp` box, what file-type reads), then `size` bytes in all. */
export function mp4 (size: number, fill = 1): Buffer {
  const box = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex')
  return Buffer.concat([box, Buffer.alloc(Math.max(0, size - box.length), fill)])
}

/**
 * Posts a file to the bucket with a presigned form, as a browser does: the fields first, the file last.
 * Node's own fetch and FormData: the undici package's request cannot encode its own FormData on Node 24,
 * nor Node's FormData on Node 20 ("action is not a function"); the built-in pair works on both.
 */
export async function postToBucket (form: PresignedForm, bytes: Buffer, contentType = form.fields['Content-Type']!): Promise<number> {
  const data = new FormData()
  for (const [name, value] of Object.entries(form.fields)) data.append(name, value)
  data.append('file', new Blob([bytes], { type: contentType }), 'upload')
  const res = await fetch(form.url, { method: 'POST', body: data })
  await res.arrayBuffer()
  return res.status
}

/** Posts the app's form: each value a token (or any text), as a page does once the browser has uploaded. */
export async function commitForm (url: string, values: Record<string, string | string[]>): Promise<{ statusCode: number, json: any }> {
  const data = new FormData()
  for (const [name, value] of Object.entries(values)) for (const one of [value].flat()) data.append(name, one)
  const res = await fetch(url, { method: 'POST', body: data })
  return { statusCode: res.status, json: await res.json() }
}

/** Every key in the bucket under a prefix. */
export async function keysUnder (client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))
  return (page.Contents ?? []).map((object) => object.Key!).sort()
}

/** The multipart uploads the bucket still holds (S3 bills for their parts). */
export async function openMultipartUploads (client: S3Client, bucket: string): Promise<string[]> {
  const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))
  return (page.Uploads ?? []).map((upload) => upload.Key!)
}

const answering = new WeakMap<S3Client, Map<string, (input: any) => unknown>>()

/**
 * Answers one SDK command on the client itself, before it is sent, and records what it was asked: for what
 * s3rver does not implement (ListParts, AbortMultipartUpload). The answer may throw, as S3 would. A later
 * answer for the same command replaces the earlier one.
 */
export function answer (client: S3Client, command: string, respond: (input: any) => unknown): any[] {
  const asked: any[] = []
  let answers = answering.get(client)
  if (answers === undefined) {
    const table = answers = new Map()
    answering.set(client, table)
    client.middlewareStack.add((next, context) => async (args) => {
      const answerWith = table.get(context.commandName)
      if (answerWith === undefined) return await next(args)
      return { output: { $metadata: {}, ...(await answerWith(args.input) as object) }, response: {} }
    }, { step: 'initialize', name: 'answer' })
  }
  answers.set(command, (input) => {
    asked.push(input)
    return respond(input)
  })
  return asked
}
