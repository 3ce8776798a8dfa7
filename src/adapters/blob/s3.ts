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
  /** Longest wait for one S3 call before it fails (default 10 s). */
  timeoutMs?: number;
}

/** How long the URLs this store signs for its own calls live. */
const CALL_URL_SECONDS = 60;

/**
 * Objects in an S3-compatible bucket. Bun's built-in client (`Bun.S3Client`, no SDK to bundle)
 * signs; each call is then one `fetch` of a presigned URL with a timeout, so a bucket that stops
 * answering fails a request instead of hanging it, a read brings the object and its content type in
 * one round trip, and errors never carry the signed URL (its signature and access key id) into logs.
 * A missing object is null only when S3 says `NoSuchKey`; anything else (a missing bucket, a 403) is
 * an error. Needs s3:GetObject, s3:PutObject, s3:DeleteObject and, for the readiness check and for
 * S3 to answer a missing key with 404 rather than 403, s3:ListBucket.
 * For several instances (scaled out) this is the shared store: a file store is each instance's own.
 */
export class S3BlobStore implements BlobStore {
  readonly #client: Bun.S3Client;
  readonly #prefix: string;
  readonly #timeoutMs: number;

  constructor(s: S3Settings) {
    this.#client = new Bun.S3Client({
      bucket: s.bucket,
      endpoint: s.endpoint,
      region: s.region,
      accessKeyId: s.accessKeyId,
      secretAccessKey: s.secretAccessKey,
    });
    this.#prefix = s.prefix;
    this.#timeoutMs = s.timeoutMs ?? 10_000;
  }

  #key(key: string): string {
    assertBlobKey(key);
    return this.#prefix + key;
  }

  async #call(
    method: "GET" | "PUT" | "DELETE",
    key: string,
    init: { body?: Uint8Array; type?: string } = {},
  ): Promise<Response> {
    const url = this.#client.presign(this.#key(key), {
      method,
      expiresIn: CALL_URL_SECONDS,
      ...(init.type ? { type: init.type } : {}),
    });
    try {
      return await fetch(url, {
        method,
        body: init.body as BodyInit | undefined,
        headers: init.type ? { "content-type": init.type } : undefined,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const name = (err as Error).name;
      const why = name === "TimeoutError" ? `no answer within ${this.#timeoutMs} ms` : name;
      throw new Error(`S3 ${method} of a blob failed: ${why}`); // not the URL: it is a credential
    }
  }

  /** S3's error code of a failed answer (its XML body), for the error message. */
  static async #code(res: Response): Promise<string> {
    return /<Code>([^<]+)<\/Code>/.exec(await res.text().catch(() => ""))?.[1] ?? "";
  }

  async #fail(method: string, res: Response, code?: string): Promise<never> {
    const c = code ?? (await S3BlobStore.#code(res));
    throw new Error(`S3 ${method} of a blob answered ${res.status}${c ? ` ${c}` : ""}`);
  }

  async put(key: string, body: Uint8Array, options: { contentType: string }): Promise<void> {
    const res = await this.#call("PUT", key, { body, type: options.contentType });
    if (!res.ok) await this.#fail("PUT", res);
    await res.body?.cancel();
  }

  async get(key: string): Promise<BlobObject | null> {
    const res = await this.#call("GET", key);
    if (!res.ok) {
      const code = await S3BlobStore.#code(res);
      if (res.status === 404 && code === "NoSuchKey") return null;
      return this.#fail("GET", res, code);
    }
    const body = new Uint8Array(await res.arrayBuffer());
    return {
      body,
      contentType: res.headers.get("content-type") ?? "application/octet-stream",
      size: body.byteLength,
    };
  }

  async delete(key: string): Promise<void> {
    const res = await this.#call("DELETE", key); // S3 answers a missing key as deleted
    if (!res.ok) await this.#fail("DELETE", res);
    await res.body?.cancel();
  }

  async signedUrl(key: string, expiresInSeconds: number): Promise<string> {
    return this.#client.presign(this.#key(key), { expiresIn: expiresInSeconds });
  }

  /** Readiness: the bucket exists and these credentials may list it (one key at most, under the prefix). */
  async ping(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`S3 list: no answer within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    try {
      await Promise.race([this.#client.list({ maxKeys: 1, prefix: this.#prefix || undefined }), timeout]);
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new Error(code ? `S3 list answered ${code}` : (err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }
}
