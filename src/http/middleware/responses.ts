import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { matches, notModified, sizeOf } from "./etag";
import { type HeaderTemplates, headerTemplates } from "./headers";

type C = Context<AppEnv>;
type BodyFn = (data: unknown, arg?: unknown, headers?: unknown) => Response;
type HeaderFn = (name: string, value?: string, options?: { append?: boolean }) => void;
type HeaderOp = [name: string, value: string | undefined, append: boolean];

/** What `begin` hands back for `finish`. */
export interface ResponseState {
  readonly base: Headers;
  readonly requestId: string;
  /** `c.header` calls made before an answer was built, in order. */
  pending: HeaderOp[] | null;
}

const CONTENT_TYPE = "Content-Type";

function apply(headers: Headers, ops: HeaderOp[] | null): void {
  if (ops)
    for (const [name, value, append] of ops)
      if (value === undefined) headers.delete(name);
      else if (append) headers.append(name, value);
      else headers.set(name, value);
}

/** The headers a `c.body(data, init)` call hands over, in Hono's order: init's, then the record's. */
function applyGiven(headers: Headers, init: unknown, record: unknown): void {
  const fromInit = (init as ResponseInit | undefined)?.headers;
  if (typeof init === "object" && fromInit)
    for (const [name, value] of new Headers(fromInit))
      if (name === "set-cookie") headers.append(name, value);
      else headers.set(name, value);
  if (record)
    for (const [name, value] of Object.entries(record as Record<string, string | string[]>))
      if (typeof value === "string") headers.set(name, value);
      else {
        headers.delete(name);
        for (const v of value) headers.append(name, v);
      }
}

/**
 * How every answer gets built and what it carries. Each request starts from one of four prebuilt
 * header sets (headers.ts: the security headers of every answer, and under /api/v1 the API's own,
 * with the right `Vary`), copied into the Response as it is made; then the request id, what steps
 * and the route set with `c.header`, and what the route hands `c.json`/`c.body` go on top, so a route
 * still overrides any of them. Why not Hono's own building: it collects `c.header` calls in a
 * Headers object and copies that into the Response, a native call per header per request (profiled:
 * ~12 headers on every answer cost more over HTTP than the rest of a cheap authenticated GET's
 * middleware; copying a prebuilt set is one call).
 *
 * `c.body`, `c.json`, `c.text`, `c.header` and `c.status` are replaced on the request's context:
 * - every body built in memory is measured into `c.var.builtBody` (compression leaves a small answer
 *   as it is without reading it back) and, for a successful GET or HEAD under `apiPrefix`, tagged with
 *   the platform's digest of its bytes unless the route passed its own `ETag`; a matching
 *   If-None-Match gets a 304 with the cache fields of the answer (RFC 9110 §15.4.5, as hono/etag);
 * - `c.header` before the answer is built is remembered and applied to it; after, it goes to the
 *   answer itself (Hono's own once the response is final).
 * An answer made some other way (a Response a handler or CORS preflight returns, Hono's not-found
 * or redirect) gets the same headers in `finish`, only where it has none of its own; it is told
 * from ours by its missing X-Request-Id, which every answer built here has.
 */
export function responses(opts: { hsts: boolean; apiPrefix: string }) {
  const templates: HeaderTemplates = headerTemplates({ hsts: opts.hsts });
  return {
    begin(c: C, requestId: string, cors: boolean): ResponseState {
      const method = c.req.method;
      const path = c.req.path;
      const isApi = path.startsWith(opts.apiPrefix);
      const base = isApi
        ? cors
          ? templates.apiCors
          : templates.api
        : cors
          ? templates.otherCors
          : templates.other;
      const tag = isApi && (method === "GET" || method === "HEAD");
      const ctx = c as unknown as {
        body: BodyFn;
        json: BodyFn;
        text: BodyFn;
        header: HeaderFn;
        status: (s: number) => void;
      };
      const honoHeader = ctx.header;
      const honoStatus = ctx.status;
      const state: ResponseState = { base, requestId, pending: null };
      let status: number | undefined;
      let built: Response | undefined;
      const { digest } = c.get("platform");

      ctx.status = (s) => {
        status = s;
        honoStatus(s);
      };
      ctx.header = (name, value, options) => {
        if (c.finalized) honoHeader(name, value, options);
        else if (built) apply(built.headers, [[name, value, options?.append === true]]);
        else {
          state.pending ??= [];
          state.pending.push([name, value, options?.append === true]);
        }
      };
      const build = (data: unknown, arg: unknown, headers: unknown, type?: string): Response => {
        const stated = typeof arg === "number" ? arg : (arg as ResponseInit | undefined)?.status;
        const res = new Response(data as BodyInit | null, { status: stated ?? status ?? 200, headers: base });
        const h = res.headers;
        h.set("X-Request-Id", requestId);
        if (type) h.set(CONTENT_TYPE, type);
        apply(h, state.pending);
        if (arg !== undefined || headers !== undefined) applyGiven(h, arg, headers);
        built = res;
        const bytes = sizeOf(data);
        if (bytes === undefined) return res;
        c.set("builtBody", { res, bytes });
        if (!tag || !res.ok) return res;
        let etag = h.get("etag");
        if (etag === null) {
          etag = `"${digest(data as string | Uint8Array)}"`;
          h.set("ETag", etag);
        }
        const ifNoneMatch = c.req.header("if-none-match");
        if (ifNoneMatch && matches(etag, ifNoneMatch)) {
          built = notModified(res, etag);
          built.headers.set("X-Request-Id", requestId);
        }
        return built;
      };
      ctx.body = (data, arg, headers) => build(data, arg, headers);
      // As Hono's own: a default Content-Type the caller's headers may override.
      ctx.json = (object, arg, headers) => build(JSON.stringify(object), arg, headers, "application/json");
      ctx.text = (text, arg, headers) => build(text, arg, headers, "text/plain; charset=UTF-8");
      return state;
    },

    /** An answer not built by `begin`'s builder gets its headers here, where it has none of its own. */
    finish(c: C, state: ResponseState): void {
      const res = c.res;
      if (res.headers.has("x-request-id")) return;
      let h = res.headers;
      try {
        h.set("X-Request-Id", state.requestId);
      } catch {
        // An immutable answer (a fetched or redirect Response): a mutable copy.
        c.res = new Response(res.body, res);
        h = c.res.headers;
        h.set("X-Request-Id", state.requestId);
      }
      for (const [name, value] of state.base) {
        const own = h.get(name);
        if (own === null) h.set(name, value);
        else if (name === "vary") h.set(name, `${own}, ${value}`);
      }
      apply(h, state.pending);
    },
  };
}

export type Responses = ReturnType<typeof responses>;

/** Runs Hono's cors() for CORS requests only (a request with an Origin, or OPTIONS). */
export function corsRequests(cors: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return (c, next) => (isCors(c) ? cors(c, next) : next());
}

export const isCors = (c: C) => c.req.method === "OPTIONS" || c.req.header("origin") !== undefined;
