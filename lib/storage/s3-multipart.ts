import type * as ClientS3 from '@aws-sdk/client-s3'
import type { MultipartDriver, UnfinishedUpload, UploadedPart } from './driver.js'
import { notFound, type Sdk } from './s3-sdk.js'

/** S3's multipart uploads, for a browser that sends each part to a presigned URL (@uppy/aws-s3's protocol). */
export class S3Multipart implements MultipartDriver {
  readonly #sdk: Sdk
  readonly #client: ClientS3.S3Client
  readonly #bucket: string
  readonly #prefix: string

  constructor (sdk: Sdk, client: ClientS3.S3Client, bucket: string, prefix: string) {
    this.#sdk = sdk
    this.#client = client
    this.#bucket = bucket
    this.#prefix = prefix
  }

  async create (key: string, { contentType }: { contentType: string }): Promise<string> {
    const created = await this.#client.send(new this.#sdk.s3.CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#prefix + key, ContentType: contentType }))
    return created.UploadId as string
  }

  async signPart (key: string, uploadId: string, partNumber: number, expiresIn: number): Promise<string> {
    const command = new this.#sdk.s3.UploadPartCommand({ Bucket: this.#bucket, Key: this.#prefix + key, UploadId: uploadId, PartNumber: partNumber })
    return await this.#sdk.presigner.getSignedUrl(this.#client, command, { expiresIn })
  }

  async listParts (key: string, uploadId: string): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = []
    let marker: string | undefined
    do {
      const page = await this.#client.send(new this.#sdk.s3.ListPartsCommand({ Bucket: this.#bucket, Key: this.#prefix + key, UploadId: uploadId, PartNumberMarker: marker }))
      for (const part of page.Parts ?? []) parts.push({ PartNumber: part.PartNumber as number, ETag: part.ETag as string, Size: part.Size as number })
      marker = page.IsTruncated === true ? page.NextPartNumberMarker : undefined
    } while (marker !== undefined)
    return parts
  }

  async complete (key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    await this.#client.send(new this.#sdk.s3.CompleteMultipartUploadCommand({
      Bucket: this.#bucket,
      Key: this.#prefix + key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) }
    }))
  }

  async listUnfinished ({ cursor, limit }: { cursor?: string, limit: number }): Promise<{ uploads: UnfinishedUpload[], cursor?: string }> {
    // the cursor is S3's two markers: the upload ids of one key are paged too
    const [keyMarker, uploadIdMarker] = cursor === undefined ? [undefined, undefined] : JSON.parse(cursor) as [string, string]
    const page = await this.#client.send(new this.#sdk.s3.ListMultipartUploadsCommand({
      Bucket: this.#bucket,
      Prefix: this.#prefix,
      MaxUploads: limit,
      KeyMarker: keyMarker,
      UploadIdMarker: uploadIdMarker
    }))
    const uploads = (page.Uploads ?? []).map((upload) => ({
      key: (upload.Key as string).slice(this.#prefix.length),
      uploadId: upload.UploadId as string,
      initiated: upload.Initiated as Date
    }))
    const next = page.IsTruncated === true ? JSON.stringify([page.NextKeyMarker, page.NextUploadIdMarker]) : undefined
    return next === undefined ? { uploads } : { uploads, cursor: next }
  }

  async abort (key: string, uploadId: string, { signal }: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      await this.#client.send(new this.#sdk.s3.AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#prefix + key, UploadId: uploadId }), { abortSignal: signal })
    } catch (err) {
      if (!notFound(err)) throw err
    }
  }
}
