import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../../db/client";
import { errorMessages } from "../../db/errors";

/**
 * Helpers for atomic writes without interactive transactions (D1 has none): a `db.batch` is one
 * transaction, and a *guard* statement inside it aborts the whole batch when a condition does not
 * hold at commit time. SQLite has no RAISE outside triggers, so a guard evaluates `json('…')` on
 * malformed text only in the failing branch of a CASE: the error rolls the batch back on libSQL and
 * on D1 alike, and the caller re-reads the state to say why (or retries).
 */
export type Item = BatchItem<"sqlite">;

const GUARD_FAILED = "malformed JSON";

/** Aborts the batch unless the statement just before it changed exactly one row. */
export function changedOneRow(db: Db): Item {
  return db.all(sql`SELECT CASE WHEN changes() = 1 THEN 1 ELSE json('guard:changed') END AS ok`);
}

/** Aborts the batch when `condition` (an SQL boolean expression) is true at that point. */
export function abortIf(db: Db, condition: SQL): Item {
  return db.all(sql`SELECT CASE WHEN ${condition} THEN json('guard:abort') ELSE 1 END AS ok`);
}

/** Runs a batch of at least one statement. */
export function runBatch(db: Db, items: Item[]) {
  if (items.length === 0) return Promise.resolve([]);
  return db.batch(items as [Item, ...Item[]]);
}

/** True when a guard of this module aborted the batch. */
export function isGuardFailure(err: unknown): boolean {
  return errorMessages(err).includes(GUARD_FAILED);
}

/**
 * True when a UNIQUE index on `target` (`table.column[, table.column]` as SQLite reports it)
 * refused the write. Partial indexes report their columns the same way.
 */
export function isUniqueViolation(err: unknown, target: string): boolean {
  const m = errorMessages(err);
  return m.includes("UNIQUE constraint failed") && m.includes(target);
}

/**
 * SQL of a stored instant (`column`, ms) truncated to its whole second: `wholeSecond` (lib/time) in
 * SQL, so reports and stats count the seconds a user sees, as entries' own durations do.
 */
export const wholeSecondSql = (column: string): string => `(${column} / 1000 * 1000)`;
