export interface BlobObject {
  body: Uint8Array;
  contentType: string;
  size: number;
}

/** Binary object storage (filesystem by default; R2 / S3-compatible by config). */
export interface BlobStore {
  put(key: string, body: Uint8Array, options: { contentType: string }): Promise<void>;
  get(key: string): Promise<BlobObject | null>;
  delete(key: string): Promise<void>;
  /** A short-lived URL that fetches the object without other credentials, where the store can make one. */
  signedUrl?(key: string, expiresInSeconds: number): Promise<string>;
}
