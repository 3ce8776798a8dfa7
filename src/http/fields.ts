import { z } from "@hono/zod-openapi";
import { parseLocalDate } from "../lib/time";

/**
 * Input field types shared by every route (SPEC 1: strings trimmed, control characters refused).
 * One definition, so "control character" means the same thing everywhere: Unicode Cc (C0, DEL, C1).
 */
const CONTROL = /\p{Cc}/u;

/** The earliest instant any route accepts (entries, heartbeats): 2000-01-01T00:00:00Z. */
export const MIN_INSTANT = Date.UTC(2000, 0, 1);
const CONTROL_MESSAGE = "must not contain control characters";
export const hasNoControlChars = (s: string): boolean => !CONTROL.test(s);

/**
 * A local calendar date `YYYY-MM-DD` (2026-02-30 refused) from 2000 to 2099: the days any report,
 * timeline or usage query can ask about, and every day in that range has a next one to end it.
 */
export const LocalDateField = (description: string, example = "2026-03-02") =>
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date YYYY-MM-DD")
    .refine(
      (d) => parseLocalDate(d) !== null && d >= "2000-01-01" && d < "2100-01-01",
      "must be a calendar date from 2000-01-01 to 2099-12-31",
    )
    .openapi({ example, description, format: "date" });

/** `String.prototype.isWellFormed` (ES2024; Bun and workerd have it, the ES2023 lib types do not). */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Whether any string in `value` (keys included) is not well-formed UTF-16. Iterative, no paths built. */
function hasIllFormed(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (!isWellFormed(v)) return true;
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (typeof v === "object" && v !== null) {
      for (const k in v) {
        if (!isWellFormed(k)) return true;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return false;
}

/**
 * Where `value` (a parsed JSON body) holds a string that is not well-formed UTF-16 — a lone
 * surrogate, which only a `\uD800`-style escape can produce — as a field path (`heartbeats.3.app`; an
 * ill-formed key is named with U+FFFD in its place), or null. The common case (none) is one cheap
 * walk; paths are built only to name the one found. Iterative: no depth of nesting overflows it.
 */
export function illFormedPath(value: unknown): string | null {
  if (!hasIllFormed(value)) return null;
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
 * Strict objects without zod's slow path. zod v4 compiles an object's parser (JIT), but a strict
 * object (unknown properties refused, SPEC 1) then walks every input key again through a generic
 * loop: for a 50-heartbeat batch that was ~40% of validation (~112 µs, ~69 µs without it). Strict
 * and loose (stripping) objects differ only on unknown properties, so when a cheap walk of the input
 * finds none the schema's loose twin parses it — same data, same issues — and otherwise the strict
 * schema does, and names them. Objects inside other schema kinds (unions, pipes, …) stay as they are.
 */
type Schema = z.core.$ZodType;
type Def = z.core.$ZodTypeDef & Record<string, unknown>;
const defOf = (s: Schema) => s._zod.def as Def;
const isStrict = (d: Def) => (d.catchall as Schema | undefined)?._zod.def.type === "never";

type KeysCheck = (v: unknown) => boolean;

/**
 * The schema's loose twin — every reachable strict object loose, the same instance when there is
 * none — and the walk of an input that says it has no property those strict objects would refuse
 * (null exactly when the twin is the schema itself: nothing to check). One walk builds both, so the
 * check covers exactly the objects the twin loosens. A non-strict object keeps its own catchall
 * (passthrough, `.catchall(x)`); a schema met again inside itself (recursive, through getters) stays
 * as it is there, so its inner levels are parsed strictly.
 */
export function loosen(
  s: Schema,
  visiting = new Set<Schema>(),
): { twin: Schema; keysKnown: KeysCheck | null } {
  const same = { twin: s, keysKnown: null };
  if (visiting.has(s)) return same;
  visiting.add(s);
  try {
    const d = defOf(s);
    const clone = (patch: Record<string, unknown>) => (s as z.ZodType).clone({ ...d, ...patch } as never);
    if (d.type === "object") {
      const shape = d.shape as Record<string, Schema>;
      const parts = Object.entries(shape).map(([k, v]) => [k, loosen(v, visiting)] as const);
      const strict = isStrict(d);
      const fields = parts.flatMap(([k, p]) => (p.keysKnown ? [[k, p.keysKnown] as const] : []));
      if (!strict && fields.length === 0) return same;
      const keys = new Set(Object.keys(shape));
      return {
        twin: clone({
          shape: Object.fromEntries(parts.map(([k, p]) => [k, p.twin])),
          catchall: strict ? undefined : d.catchall,
        }),
        keysKnown: (v) => {
          if (typeof v !== "object" || v === null) return true; // refused alike by both
          if (strict) for (const k in v) if (!keys.has(k)) return false;
          for (const [k, check] of fields) if (!check((v as Record<string, unknown>)[k])) return false;
          return true;
        },
      };
    }
    const key =
      d.type === "array" ? "element" : d.type === "optional" || d.type === "nullable" ? "innerType" : null;
    if (!key) return same;
    const inner = loosen(d[key] as Schema, visiting);
    const check = inner.keysKnown;
    if (!check) return same;
    return {
      twin: clone({ [key]: inner.twin }),
      keysKnown:
        key === "element" ? (v) => !Array.isArray(v) || v.every(check) : (v) => v == null || check(v),
    };
  } finally {
    visiting.delete(s);
  }
}

/**
 * @hono/zod-openapi validates bodies with `safeParseAsync`, and zod v4 runs its compiled (JIT) object
 * parser only in synchronous parses: a 50-heartbeat batch took ~86 µs async and ~61 µs sync. No body
 * schema here has an async refinement, so the body is parsed synchronously — same result, same
 * issues — and should one ever gain an async refinement, zod's "async in a sync parse" error sends
 * it (that request, and every later one) to the async parse. Strict objects are parsed by their
 * loose twin when the input has no unknown property (above).
 */
const syncParsing = new WeakSet<z.ZodType>();

export function syncFirst<T extends z.ZodType>(schema: T): T {
  const s = schema as z.ZodType;
  if (syncParsing.has(s)) return schema;
  syncParsing.add(s);
  const parseAsync = s.safeParseAsync.bind(s);
  const parseStrict = s.safeParse.bind(s);
  const { twin, keysKnown } = loosen(s) as { twin: z.ZodType; keysKnown: KeysCheck | null };
  const parseSync: typeof parseStrict = keysKnown
    ? (data, params) => (keysKnown(data) ? twin.safeParse(data, params) : parseStrict(data, params))
    : parseStrict;
  let isAsync = false;
  s.safeParseAsync = async (data, params) => {
    if (isAsync) return parseAsync(data, params);
    try {
      return parseSync(data, params);
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
