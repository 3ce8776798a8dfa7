import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { BlobObject, BlobStore } from "../../ports/blob";
import { assertBlobKey } from "./keys";

/**
 * Files under a root directory; the content type sits in a sidecar file. Writes go to a temp file
 * and are renamed into place, so a reader never sees half an object.
 */
export class FsBlobStore implements BlobStore {
  readonly #root: string;
  constructor(root: string) {
    this.#root = resolve(root);
  }

  #path(key: string): string {
    assertBlobKey(key);
    return join(this.#root, key);
  }

  async put(key: string, body: Uint8Array, options: { contentType: string }): Promise<void> {
    const path = this.#path(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    await writeFile(tmp, body);
    await writeFile(`${path}.type`, options.contentType);
    await rename(tmp, path);
  }

  async get(key: string): Promise<BlobObject | null> {
    const path = this.#path(key);
    try {
      const [body, type] = await Promise.all([
        readFile(path),
        readFile(`${path}.type`, "utf8").catch(() => "application/octet-stream"),
      ]);
      return { body: new Uint8Array(body), contentType: type, size: body.byteLength };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    await Promise.all([rm(path, { force: true }), rm(`${path}.type`, { force: true })]);
  }
}
