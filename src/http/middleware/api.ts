import type { MiddlewareHandler } from "hono";
import { AppError, type FieldError } from "../../lib/errors";
import type { AppEnv } from "../context";

export const SUPPORTED_API_VERSIONS = ["1"] as const;
export const CURRENT_API_VERSION = "1";

/**
 * `Accept-Version` selects the API version (default and only one today: 1); every response says
 * which version answered in `API-Version` and is private by default (both in the header sets of http/middleware/headers.ts).
 */
export function apiVersion(): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const asked = c.req.header("accept-version")?.trim();
    if (asked && !(SUPPORTED_API_VERSIONS as readonly string[]).includes(asked.replace(/^v/i, ""))) {
      throw new AppError(
        400,
        "UNSUPPORTED_API_VERSION",
        `API version "${asked}" is not supported; supported: ${SUPPORTED_API_VERSIONS.join(", ")}`,
        {
          headers: { "API-Version": CURRENT_API_VERSION },
        },
      );
    }
    return next();
  };
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Bodies must be JSON (415 otherwise), except on routes that declare multipart uploads.
 * Checked before routing so a handler never sees a body it did not ask for.
 */
export function requireJsonBody(
  multipartPaths: (path: string) => boolean = () => false,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if (method === "POST" || method === "PUT" || method === "PATCH" || method === "DELETE") {
      const hasBody = c.req.raw.body !== null && c.req.header("content-length") !== "0";
      if (hasBody) {
        const type = c.req.header("content-type") ?? "";
        const ok =
          JSON_TYPE.test(type) || (/^multipart\/form-data/i.test(type) && multipartPaths(c.req.path));
        if (!ok)
          throw new AppError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            `Content-Type "${type || "(none)"}" is not accepted; send application/json`,
            {
              headers: { "Accept-Post": "application/json" },
            },
          );
      }
    }
    await next();
  };
}

/** `String.prototype.isWellFormed` (ES2024; Bun and workerd have it, the ES2023 lib types do not). */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * Where the parsed JSON `value` holds a string that is not well-formed UTF-16 (a lone surrogate,
 * which only a `\uD800`-style escape can produce), as a field path (`heartbeats.3.app`; an
 * ill-formed key is named with U+FFFD in place of its lone surrogate), or null. Iterative: no depth of nesting overflows it.
 */
export function illFormedPath(value: unknown): string | null {
  const stack: [unknown, string][] = [[value, ""]];
  const at = (path: string, key: string | number) => (path ? `${path}.${key}` : String(key));
  while (stack.length) {
    const [v, path] = stack.pop() as [unknown, string];
    if (typeof v === "string") {
      if (!isWellFormed(v)) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], at(path, i)]);
    } else if (typeof v === "object" && v !== null) {
      for (const [k, inner] of Object.entries(v)) {
        if (!isWellFormed(k)) return at(path, (k as unknown as { toWellFormed(): string }).toWellFormed());
        stack.push([inner, at(path, k)]);
      }
    }
  }
  return null;
}

/**
 * JSON bodies must be well-formed Unicode: a lone surrogate (`"\ud800"`) is refused with a 422 naming
 * the field, before any handler sees it. Stored, such a string is not valid UTF-8 (SQLite keeps what
 * `json_extract` makes of it) and libSQL aborts the process when it reads it back; no route has a use
 * for one. The body is parsed here once (Hono caches it for the route's validator); a body that is
 * not JSON at all is left to the validator's own error.
 */
export function wellFormedJson(isUpload: (path: string) => boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (
      c.req.raw.body !== null &&
      !isUpload(c.req.path) &&
      JSON_TYPE.test(c.req.header("content-type") ?? "")
    ) {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return next();
      }
      const path = illFormedPath(body);
      if (path !== null)
        throw new AppError(422, "VALIDATION_FAILED", "Invalid request body", {
          errors: [
            {
              path: path || "body", // the body itself, as validation names it (http/openapi.ts)
              message: "must be well-formed Unicode (no lone surrogate)",
              code: "invalid_string",
              location: "body",
            } as FieldError,
          ],
        });
    }
    await next();
  };
}

export interface Deprecation {
  /** When it was deprecated (RFC 9745 `Deprecation: @<epoch seconds>`). */
  since: Date;
  /** When it stops working (RFC 8594 `Sunset`). */
  sunset: Date;
  /** The route to use instead. */
  successor: string;
}

/** Marks a route deprecated: `Deprecation`, `Sunset` and a `Link` to its successor on every response. */
export function deprecated(d: Deprecation): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    c.res.headers.set("Deprecation", `@${Math.floor(d.since.getTime() / 1000)}`);
    c.res.headers.set("Sunset", d.sunset.toUTCString());
    c.res.headers.append("Link", `<${d.successor}>; rel="successor-version"`);
  };
}
