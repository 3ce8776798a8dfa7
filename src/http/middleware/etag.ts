import { createXXHash128, type IHasher } from "hash-wasm";
import type { Context, MiddlewareHandler } from "hono";
import { etag } from "hono/etag";
import type { AppEnv } from "../context";

/**
 * XXH3-128 (hash-wasm), run synchronously, for ETags: WebCrypto SHA-1, hono/etag's default, runs
 * asynchronously in Bun at ~10 µs a body, a tenth of a cheap GET's budget. An ETag only has to tell
 * representations apart; 128 bits of a well-distributed hash do that (no one can make a victim's
 * cached body collide without knowing it byte for byte). Where WebAssembly cannot be compiled at run
 * time (Workers), hashing falls back to SHA-1: `hasher` stays null.
 */
let hasher: IHasher | null | undefined;
const hasherReady = createXXHash128().then(
  (h) => {
    hasher = h;
    return h;
  },
  () => {
    hasher = null;
    return null;
  },
);

/** hono/etag answering If-None-Match (304) and tagging bodies `c.json` did not tag. GET only. */
export function conditionalGet(): MiddlewareHandler<AppEnv> {
  const digest = (h: IHasher | null, body: Uint8Array): ArrayBuffer | Promise<ArrayBuffer> => {
    if (!h) return crypto.subtle.digest("SHA-1", body as BufferSource);
    h.init();
    h.update(body);
    return (h.digest("binary") as Uint8Array).slice().buffer as ArrayBuffer;
  };
  const middleware = etag({
    generateDigest: (body) =>
      hasher !== undefined ? digest(hasher, body) : hasherReady.then((h) => digest(h, body)),
  });
  return (c, next) => (c.req.method === "GET" ? middleware(c, next) : next());
}

type JsonFn = (object: unknown, arg?: unknown, headers?: unknown) => Response;
const NON_ASCII = /[^ -~\t\n\r]/;
const encoder = new TextEncoder();

/**
 * `c.json` serialises once and keeps what later middleware would otherwise read back out of the
 * finished response: its size in bytes (`c.var.jsonBody`, so compression leaves a small answer as
 * it is instead of buffering and rebuilding it) and, for a successful GET under `tagPrefix`, its ETag
 * (then hono/etag only answers If-None-Match). Reading the body back had cost a clone, a stream read,
 * a new Response and a header copy per request (~15% of a cheap authenticated GET, profiled). Same
 * bytes, same hash, same tag as hono/etag would give.
 */
export function jsonBodies(tagPrefix: string): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const tag = c.req.method === "GET" && c.req.path.startsWith(tagPrefix);
    const ctx = c as unknown as { json: JsonFn; body: JsonFn };
    ctx.json = (object, arg, headers) => {
      const text = JSON.stringify(object);
      // As Hono's own json(): a default Content-Type the caller's headers may override.
      const res = ctx.body(text, arg, { "Content-Type": "application/json", ...(headers as object) });
      const bytes = NON_ASCII.test(text) ? encoder.encode(text).byteLength : text.length;
      (c as Context<AppEnv>).set("jsonBody", { res, bytes });
      // On the response itself (not the request's prepared headers), and only when successful, as hono/etag.
      if (tag && hasher && res.ok) {
        hasher.init();
        hasher.update(text);
        res.headers.set("ETag", `"${hasher.digest("hex")}"`);
      }
      return res;
    };
    return next();
  };
}
