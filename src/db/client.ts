import type { LibSQLDatabase } from "drizzle-orm/libsql";
import type * as schema from "./schema";

export type Schema = typeof schema;

/**
 * The database handle every repo receives: drizzle's sqlite-core API over libSQL (file, memory,
 * sqld/Turso) or D1. Both expose the same query builder and `batch` (atomic multi-statement write;
 * D1 has no interactive transactions, so multi-statement writes use `batch`, never `transaction`).
 */
export type Db = LibSQLDatabase<Schema>;

export type DbDialect = "libsql-file" | "libsql-memory" | "libsql-remote" | "d1";

/** Rows changed by a `run()`: libSQL reports `rowsAffected`, D1 reports `meta.changes`. */
export function affectedRows(result: unknown): number {
  const r = result as { rowsAffected?: number; meta?: { changes?: number } };
  return r.rowsAffected ?? r.meta?.changes ?? 0;
}
