import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";

type BodyFn = (data: unknown, arg?: unknown, headers?: unknown) => Response;

/** What a 304 keeps of the answer it stands for (RFC 9110 §15.4.5; the same list as hono/etag). */
const RETAINED_304 = ["cache-control", "content-location", "expires", "vary"] as const;
const NON_ASCII = /[^ -~\t\n\r]/;
const encoder = new TextEncoder();

/** Size in bytes of a body built in memory; undefined for a stream or none. */
function sizeOf(data: unknown): number | undefined {
  if (typeof data === "string") return NON_ASCII.test(data) ? encoder.encode(data).byteLength : data.length;
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) return data.byteLength;
  return undefined;
}

/** If-None-Match against our tag, as hono/etag compares: `*`, or any listed tag, weak or not. */
function matches(etag: string, ifNoneMatch: string): boolean {
  if (ifNoneMatch.trim() === "*") return true;
  const expected = etag.replace(/^W\//, "");
  return ifNoneMatch.match(/"[^"]*"/g)?.some((t) => t === expected) ?? false;
}

function notModified(res: Response, etag: string): Response {
  const headers = new Headers({ ETag: etag });
  for (const name of RETAINED_304) {
    const value = res.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Response(null, { status: 304, headers });
}

/**
 * Every body `c.body`/`c.json` builds in memory is measured and, for a successful GET or HEAD under
 * `tagPrefix`, tagged and checked against If-None-Match as it is built:
 * - its size goes to `c.var.builtBody`, so compression leaves a small answer as it is instead of
 *   buffering and rebuilding it;
 * - its ETag is the platform's digest of the bytes (synchronous: XXH3-64 on Bun, SHA-1 on Workers),
 *   unless the route passed its own (`ETag` in the headers it hands `c.json`/`c.body`); a matching
 *   If-None-Match gets a 304 with the cache fields of the answer.
 * Why not hono/etag: it works on the finished response, cloning it and reading the clone's stream
 * back through an asynchronous digest, then copying headers into a new Response (together ~15% of a
 * cheap authenticated GET, profiled). Every answer under /api/v1 with a body is JSON or an image
 * held in memory, so the tag can be made from the bytes as they are handed over.
 */
export function builtBodies(tagPrefix: string): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const method = c.req.method;
    const tag = (method === "GET" || method === "HEAD") && c.req.path.startsWith(tagPrefix);
    const ctx = c as unknown as { json: BodyFn; body: BodyFn };
    const body = ctx.body;
    const { digest } = (c as Context<AppEnv>).get("platform");
    ctx.body = (data, arg, headers) => {
      const bytes = sizeOf(data);
      if (bytes === undefined) return body(data, arg, headers);
      // A success the call states (`c.json(x, 200)`, `{ status }`) is tagged before it is built, the
      // tag going in with the other headers; else (`c.status()` set it) once the answer tells.
      const stated = typeof arg === "number" ? arg : (arg as ResponseInit | undefined)?.status;
      const given = headers as Record<string, string> | undefined;
      const digestTag = () => `"${digest(data as string | Uint8Array)}"`;
      const early =
        tag && stated !== undefined && stated >= 200 && stated < 300
          ? (given?.ETag ?? digestTag())
          : undefined;
      const res = body(data, arg, early ? { ...given, ETag: early } : headers);
      (c as Context<AppEnv>).set("builtBody", { res, bytes });
      if (!tag || !res.ok) return res;
      let etag = early;
      if (!etag) {
        etag = res.headers.get("etag") ?? digestTag();
        res.headers.set("ETag", etag);
      }
      const ifNoneMatch = c.req.header("if-none-match");
      return ifNoneMatch && matches(etag, ifNoneMatch) ? notModified(res, etag) : res;
    };
    // As Hono's own json(): a default Content-Type the caller's headers may override.
    ctx.json = (object, arg, headers) =>
      ctx.body(JSON.stringify(object), arg, { "Content-Type": "application/json", ...(headers as object) });
    return next();
  };
}
