import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { compiled, type WriteQuery } from "../../db/write-thread";
import { abortIf, type Item } from "../time/time.db";

/**
 * Many rows into one table inside a write batch (ingest's group commits: a few thousand heartbeats
 * and span pieces at a time), in the form that suits where the batch runs.
 *
 * - On the server's connection (libSQL file or memory, sqld, D1): one statement taking every row as
 *   one JSON parameter (`json_each`). D1 allows 100 bound parameters per statement, and a remote
 *   database pays per statement, so one parameter and one statement is the portable form.
 * - On the write thread (embedded file, same process): multi-row `VALUES` statements of a few fixed
 *   sizes. SQLite binds values far more cheaply than it extracts them from JSON: 1,600 heartbeats
 *   took 11.4 ms to insert through `json_each` and about 8 ms this way on the thread
 *   (bench/ingest.ts, batches of 50, timed per statement), and the fixed sizes keep the thread's
 *   prepared-statement cache hitting.
 *
 * `allNew` aborts the batch (a guard, `isGuardFailure`) unless every row was inserted: with an
 * `ON CONFLICT … DO NOTHING` clause a row that already exists is skipped, and the caller wants to
 * know. Why by hand: drizzle's `insert().values()` builds a single statement with every value
 * bound (over D1's limit, and re-prepared for each new row count).
 */
export interface BulkInsert {
  table: string;
  columns: readonly string[];
  /** e.g. `ON CONFLICT (member_id, time, client_id) DO NOTHING`. */
  onConflict?: string;
  /** Abort the batch unless every row was inserted. */
  allNew?: boolean;
}

/** One `json_each` statement (and its guard) as drizzle batch items. */
export function jsonEachInsert(db: Db, spec: BulkInsert, rows: unknown[][]): Item[] {
  if (rows.length === 0) return [];
  const picks = spec.columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ");
  const items: Item[] = [
    db.run(sql`${sql.raw(`INSERT INTO ${spec.table} (${spec.columns.join(", ")}) SELECT ${picks}`)}
      FROM json_each(${JSON.stringify(rows)}) WHERE true ${sql.raw(spec.onConflict ?? "")}`),
  ];
  if (spec.allNew) items.push(abortIf(db, sql`changes() <> ${rows.length}`));
  return items;
}

/** Rows per `VALUES` statement, largest first; a batch's rows are cut into these sizes. */
const CHUNKS = [128, 32, 8, 1] as const;
/** SQL text per (table spec, chunk size), and each size's guard (compiled once: the same for every database). */
const texts = new WeakMap<BulkInsert, Map<number, string>>();
const guards = new Map<number, WriteQuery>();

function chunkSql(spec: BulkInsert, size: number): string {
  let bySize = texts.get(spec);
  if (!bySize) {
    bySize = new Map();
    texts.set(spec, bySize);
  }
  let text = bySize.get(size);
  if (!text) {
    const row = `(${spec.columns.map(() => "?").join(", ")})`;
    text = `INSERT INTO ${spec.table} (${spec.columns.join(", ")}) VALUES ${Array(size).fill(row).join(", ")} ${spec.onConflict ?? ""}`;
    bySize.set(size, text);
  }
  return text;
}

function guard(db: Db, size: number): WriteQuery {
  let g = guards.get(size);
  if (!g) {
    g = compiled(abortIf(db, sql`changes() <> ${size}`));
    guards.set(size, g);
  }
  return g;
}

/** Multi-row `VALUES` statements (each followed by its guard when `allNew`) for the write thread. */
export function valuesInsert(db: Db, spec: BulkInsert, rows: unknown[][]): WriteQuery[] {
  const out: WriteQuery[] = [];
  let i = 0;
  for (const size of CHUNKS) {
    for (; rows.length - i >= size; i += size) {
      out.push({ sql: chunkSql(spec, size), params: rows.slice(i, i + size).flat(), method: "run" });
      if (spec.allNew) out.push(guard(db, size));
    }
  }
  return out;
}
