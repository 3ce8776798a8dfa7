import type { BlobObject, BlobStore } from "../../ports/blob";
import { assertBlobKey } from "./keys";

/** Blob store in a Map: tests and throwaway instances. */
export class MemoryBlobStore implements BlobStore {
  readonly #objects = new Map<string, BlobObject>();

  async put(key: string, body: Uint8Array, options: { contentType: string }): Promise<void> {
    assertBlobKey(key);
    this.#objects.set(key, { body: body.slice(), contentType: options.contentType, size: body.byteLength });
  }

  async get(key: string): Promise<BlobObject | null> {
    return this.#objects.get(key) ?? null;
  }

  async delete(key: string): Promise<void> {
    this.#objects.delete(key);
  }
}
