import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isForeignKeyViolation } from "../db/errors";
import { AppError, defaultTitle, problemType } from "../lib/errors";
import type { AppEnv } from "./context";

export const PROBLEM_JSON = "application/problem+json";
const REPRESENTATION_HEADERS = ["Content-Encoding", "Content-Length", "Content-Disposition", "ETag"];

export function problemResponse(c: Context<AppEnv>, err: AppError): Response {
  const requestId = c.get("requestId") ?? "";
  // Extra members first: they add to the problem, never replace its standard members (RFC 9457).
  const body: Record<string, unknown> = {
    ...(err.extra ?? {}),
    type: problemType(err.code),
    title: defaultTitle(err.status),
    status: err.status,
    detail: err.message,
    instance: new URL(c.req.url).pathname,
    code: err.code,
    requestId,
    ...(err.fieldErrors ? { errors: err.fieldErrors } : {}),
  };
  const headers = new Headers({ "Content-Type": PROBLEM_JSON, "Cache-Control": "no-store" });
  for (const [k, v] of Object.entries(err.headers ?? {})) headers.set(k, v);
  // Through c.body (http/middleware/responses.ts), so it carries what every answer does: X-Request-Id,
  // API-Version, Vary, the security headers, rate-limit fields.
  const res = c.body(JSON.stringify(body), { status: err.status as ContentfulStatusCode, headers });
  // Headers a route set for the answer it was making before it failed do not describe this one.
  for (const h of REPRESENTATION_HEADERS) res.headers.delete(h);
  return res;
}

/** Maps anything thrown to an AppError. Unknown errors become a bare 500: no message, no stack. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) {
    const msg = err.message || defaultTitle(err.status);
    if (err.status === 400 && /json/i.test(msg))
      return new AppError(400, "MALFORMED_JSON", "The request body is not valid JSON");
    if (err.status === 413) return new AppError(413, "PAYLOAD_TOO_LARGE", "The request body is too large");
    if (err.status === 401) return new AppError(401, "UNAUTHORIZED", "Missing or invalid credentials");
    return new AppError(
      err.status,
      err.status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST",
      err.status >= 500 ? undefined : msg,
    );
  }
  if (isForeignKeyViolation(err))
    return new AppError(
      409,
      "REFERENCE_CHANGED",
      "Something this request refers to was removed while it was being written; retry",
    );
  return new AppError(
    500,
    "INTERNAL_ERROR",
    "An unexpected error occurred. Quote the requestId when reporting it.",
  );
}

export function onError(err: unknown, c: Context<AppEnv>): Response {
  const appErr = toAppError(err);
  const logger = c.get("logger");
  if (appErr.status >= 500) {
    // The client sees only the requestId; the cause (message, stack) goes to this log line.
    logger?.error({ err, requestId: c.get("requestId"), status: appErr.status }, "request failed");
  } else if (appErr.code === "REFERENCE_CHANGED") {
    // A race a route did not guard: worth seeing, with its cause, though the client gets a 409.
    logger?.warn({ err, requestId: c.get("requestId") }, "write refused by a foreign key");
  } else {
    logger?.debug({ code: appErr.code, status: appErr.status }, "request rejected");
  }
  return problemResponse(c, appErr);
}
