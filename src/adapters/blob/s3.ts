import type { BlobObject, BlobStore } from "../../ports/blob";
import { assertBlobKey } from "./keys";

export interface S3Settings {
  bucket: string;
  /** `https://s3.<region>.amazonaws.com` when unset; any S3-compatible endpoint (MinIO, Ceph, B2, R2). */
  endpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Prepended to every key, so one bucket can hold several deployments. */
  prefix: string;
}

/** How long the URLs this store signs for its own reads live. */
const READ_URL_SECONDS = 60;

/**
 * Objects in an S3-compatible bucket, through Bun's built-in client (`Bun.S3Client`: SigV4 signing
 * and the S3 REST calls, no SDK to bundle). A read is one presigned GET, so the object and its
 * content type come back in one round trip; `signedUrl` hands such a URL to a client.
 * For several instances (scaled out) this is the shared store: a file store is each instance's own.
 */
export class S3BlobStore implements BlobStore {
  readonly #client: Bun.S3Client;
  readonly #prefix: string;

  constructor(s: S3Settings) {
    this.#client = new Bun.S3Client({
      bucket: s.bucket,
      endpoint: s.endpoint,
      region: s.region,
      accessKeyId: s.accessKeyId,
      secretAccessKey: s.secretAccessKey,
    });
    this.#prefix = s.prefix;
  }

  #key(key: string): string {
    assertBlobKey(key);
    return this.#prefix + key;
  }

  async put(key: string, body: Uint8Array, options: { contentType: string }): Promise<void> {
    await this.#client.write(this.#key(key), body, { type: options.contentType });
  }

  async get(key: string): Promise<BlobObject | null> {
    const res = await fetch(this.#client.presign(this.#key(key), { expiresIn: READ_URL_SECONDS }));
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`S3 GET of a blob answered ${res.status}`);
    }
    const body = new Uint8Array(await res.arrayBuffer());
    return {
      body,
      contentType: res.headers.get("content-type") ?? "application/octet-stream",
      size: body.byteLength,
    };
  }

  async delete(key: string): Promise<void> {
    await this.#client.delete(this.#key(key)); // S3 answers a missing key as deleted
  }

  async signedUrl(key: string, expiresInSeconds: number): Promise<string> {
    return this.#client.presign(this.#key(key), { expiresIn: expiresInSeconds });
  }

  /** Readiness: the bucket answers with these credentials (a HEAD of a key that need not exist). */
  async ping(): Promise<void> {
    await this.#client.file(`${this.#prefix}.ready`).exists();
  }
}
