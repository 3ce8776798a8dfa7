import { z } from "@hono/zod-openapi";
import { base64url, fromBase64url } from "./crypto";
import { AppError } from "./errors";

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;

export const PageQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_LIMIT)
    .default(DEFAULT_LIMIT)
    .openapi({ description: `Page size (1–${MAX_LIMIT})`, example: 50 }),
  cursor: z.string().max(512).optional().openapi({ description: "Opaque cursor from `nextCursor`" }),
});

/**
 * A time (epoch ms) inside a cursor: a cursor is client input, and a number outside what a Date can
 * hold (±8.64e15 ms) would reach the query as an invalid date (a 500) instead of a 422.
 */
export const CursorInstant = z.number().int().min(-8.64e15).max(8.64e15);

/** Cursors are opaque to clients: base64url JSON of the sort key of the last row served. */
export function encodeCursor(key: Record<string, string | number>): string {
  return base64url(new TextEncoder().encode(JSON.stringify(key)));
}

export function decodeCursor<T extends Record<string, string | number>>(
  cursor: string,
  shape: z.ZodType<T>,
): T {
  try {
    const parsed = shape.safeParse(JSON.parse(new TextDecoder().decode(fromBase64url(cursor))));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  throw new AppError(422, "VALIDATION_FAILED", "Invalid cursor", {
    errors: [{ path: "cursor", message: "is not a cursor this API issued", code: "invalid_cursor" }],
  });
}

/** Link header for the next page, keeping every other query parameter. */
export function nextLink(requestUrl: string, nextCursor: string | null): string | undefined {
  if (!nextCursor) return undefined;
  const u = new URL(requestUrl);
  u.searchParams.set("cursor", nextCursor);
  return `<${u.pathname}${u.search}>; rel="next"`;
}

export function pageOf<T>(rows: T[], limit: number, keyOf: (row: T) => Record<string, string | number>) {
  const hasMore = rows.length > limit;
  const data = hasMore ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  return { data, nextCursor: hasMore && last ? encodeCursor(keyOf(last)) : null };
}
