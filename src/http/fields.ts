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

/** A JSON request body with an example, for createRoute's `request.body` (required unless said). */
export const jsonBody = <T extends z.ZodType>(schema: T, example: unknown, required = true) => ({
  required,
  content: { "application/json": { schema, example } },
});
