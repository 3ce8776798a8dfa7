import type { MiddlewareHandler } from "hono";
import { AppError } from "../../lib/errors";
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
