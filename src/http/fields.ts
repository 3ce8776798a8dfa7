import { z } from "@hono/zod-openapi";

/**
 * Input field types shared by every route (SPEC 1: strings trimmed, control characters refused).
 * One definition, so "control character" means the same thing everywhere: Unicode Cc (C0, DEL, C1).
 */
const CONTROL = /\p{Cc}/u;
const CONTROL_MESSAGE = "must not contain control characters";
export const hasNoControlChars = (s: string): boolean => !CONTROL.test(s);

/** A trimmed, single-line, non-empty string of at most `max` characters (names, labels). */
export const cleanText = (max: number) =>
  z.string().trim().min(1).max(max).refine(hasNoControlChars, CONTROL_MESSAGE);

/** Normalised email: trimmed, lower case. */
export const EmailField = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email())
  .openapi({ format: "email", example: "ada@example.com" });

/** Never trimmed: every character of a password counts. Length and strength are the policy's (422). */
export const PasswordField = z
  .string()
  .min(1)
  .max(1024)
  .refine(hasNoControlChars, CONTROL_MESSAGE)
  .openapi({ format: "password", example: "correct horse battery staple" });

/** An opaque token from an email link or a client (refresh, invitation, verification). */
export const OpaqueTokenField = cleanText(512);

/**
 * @hono/zod-openapi validates bodies with `safeParseAsync`, and zod v4 runs its compiled (JIT) object
 * parser only in synchronous parses: a 50-heartbeat batch took ~86 µs async and ~61 µs sync. No body
 * schema here has an async refinement, so the body is parsed synchronously — same result, same
 * issues — and should one ever gain an async refinement, zod's "async in a sync parse" error sends
 * it (that request, and every later one) to the async parse.
 */
const syncParsing = new WeakSet<z.ZodType>();

export function syncFirst<T extends z.ZodType>(schema: T): T {
  const s = schema as z.ZodType;
  if (syncParsing.has(s)) return schema;
  syncParsing.add(s);
  const parseAsync = s.safeParseAsync.bind(s);
  let isAsync = false;
  s.safeParseAsync = async (data, params) => {
    if (isAsync) return parseAsync(data, params);
    try {
      return s.safeParse(data, params);
    } catch (err) {
      if (!(err instanceof z.core.$ZodAsyncError)) throw err;
      isAsync = true; // from now on straight to the async parse
      return parseAsync(data, params);
    }
  };
  return schema;
}

/** A JSON request body with an example, for createRoute's `request.body` (required unless said). */
export const jsonBody = <T extends z.ZodType>(schema: T, example: unknown, required = true) => ({
  required,
  content: { "application/json": { schema: syncFirst(schema), example } },
});
