import type { BlobObject, BlobStore } from "../../ports/blob";
import { assertBlobKey } from "./keys";

/**
 * The parts of Cloudflare's R2 bucket binding this store uses, declared structurally because the
 * project does not depend on @cloudflare/workers-types; the real binding satisfies it.
 */
export interface R2BucketLike {
  put(
    key: string,
    value: ArrayBuffer | ArrayBufferView | string | null,
    options?: { httpMetadata?: { contentType?: string } },
  ): Promise<unknown>;
  get(key: string): Promise<R2ObjectBodyLike | null>;
  delete(keys: string | string[]): Promise<void>;
}

export interface R2ObjectBodyLike {
  size: number;
  httpMetadata?: { contentType?: string };
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * Blob store on an R2 bucket binding. There is no `signedUrl`: a binding cannot presign (that needs
 * S3 API credentials), so callers stream objects through the API instead.
 */
export class R2BlobStore implements BlobStore {
  constructor(private readonly bucket: R2BucketLike) {}

  async put(key: string, body: Uint8Array, options: { contentType: string }): Promise<void> {
    assertBlobKey(key);
    await this.bucket.put(key, body, { httpMetadata: { contentType: options.contentType } });
  }

  async get(key: string): Promise<BlobObject | null> {
    const obj = await this.bucket.get(key);
    if (!obj) return null;
    return {
      body: new Uint8Array(await obj.arrayBuffer()),
      contentType: obj.httpMetadata?.contentType ?? "application/octet-stream",
      size: obj.size,
    };
  }

  async delete(key: string): Promise<void> {
    await this.bucket.delete(key);
  }
}
