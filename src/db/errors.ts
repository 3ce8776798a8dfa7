/**
 * What SQLite said, through the wrappers: drizzle and libSQL wrap the SQLite error in others, so
 * tests on an error look at every message along its `cause` chain.
 */
export function errorMessages(err: unknown): string {
  const out: string[] = [];
  let e: unknown = err;
  for (let i = 0; e && i < 5; i++) {
    out.push(String((e as { message?: unknown }).message ?? e));
    e = (e as { cause?: unknown }).cause;
  }
  return out.join(" | ");
}

/**
 * True when a foreign key refused the write: a row the request refers to (a project, a tag, a
 * member) was deleted between the request's checks and its commit. Writes that can meet this guard
 * their references and say which field (`refsGuard` in the time module); any other such race
 * answers 409 instead of 500 (http/problem.ts).
 */
export const isForeignKeyViolation = (err: unknown): boolean =>
  errorMessages(err).includes("FOREIGN KEY constraint failed");
