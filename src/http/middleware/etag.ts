import { createXXHash128, type IHasher } from "hash-wasm";
import type { MiddlewareHandler } from "hono";
import { etag } from "hono/etag";
import type { AppEnv } from "../context";

/**
 * Hono's ETag middleware with a faster digest: XXH3-128 (hash-wasm) run synchronously, instead of
 * WebCrypto SHA-1, which Bun runs asynchronously at ~10 µs a body — a tenth of a cheap GET's
 * budget. An ETag only has to tell representations apart; 128 bits of a well-distributed hash do
 * that (no one can make a victim's cached body collide without knowing it byte for byte). Where
 * WebAssembly cannot be compiled at run time (Workers), it falls back to SHA-1. GET only.
 */
export function conditionalGet(): MiddlewareHandler<AppEnv> {
  let hasher: IHasher | null | undefined;
  const ready = createXXHash128().then(
    (h) => {
      hasher = h;
      return h;
    },
    () => {
      hasher = null;
      return null;
    },
  );
  const digest = (h: IHasher | null, body: Uint8Array): ArrayBuffer | Promise<ArrayBuffer> => {
    if (!h) return crypto.subtle.digest("SHA-1", body as BufferSource);
    h.init();
    h.update(body);
    return (h.digest("binary") as Uint8Array).slice().buffer as ArrayBuffer;
  };
  const middleware = etag({
    generateDigest: (body) =>
      hasher !== undefined ? digest(hasher, body) : ready.then((h) => digest(h, body)),
  });
  return (c, next) => (c.req.method === "GET" ? middleware(c, next) : next());
}
