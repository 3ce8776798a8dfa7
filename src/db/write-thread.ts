import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "./client";

/** One compiled statement of a write batch, as drizzle builds it (`getQuery()`). */
export interface WriteQuery {
  sql: string;
  params: unknown[];
  /** "all" returns rows, "get" the first row, "run" the number of rows changed. */
  method: "run" | "all" | "get";
}

/**
 * A second connection to the same database file on its own thread, committing write batches there
 * (adapters/db/write-thread.ts). Each batch is one IMMEDIATE transaction: all of it is stored or
 * none of it; an error inside (a guard, a constraint) rolls it back and rejects with SQLite's message.
 * Results in order: rows as plain objects for "all", the first row or undefined for "get",
 * `{ rowsAffected }` for "run". Rows are as SQLite returns them: no drizzle column mapping.
 */
export interface WriteThread {
  batch(queries: WriteQuery[]): Promise<unknown[]>;
  /** False once closed or once the thread died: its batches go back to the server's connection. */
  readonly usable: boolean;
  /** Batches committed so far (diagnostics, tests). */
  readonly committed: number;
  /** Runs the batches already sent, then closes the thread's connection. */
  close(): Promise<void>;
}

const threads = new WeakMap<Db, WriteThread>();

/** Heavy write batches of `db` (heartbeat ingest) go to `thread` from now on. */
export function useWriteThread(db: Db, thread: WriteThread): void {
  threads.set(db, thread);
}

/** The write thread of `db`, when its platform runs one (embedded file database on Bun) and it is usable. */
export function writeThreadOf(db: Db): WriteThread | null {
  const t = threads.get(db);
  return t?.usable ? t : null;
}

/** A raw batch item (`db.run(sql`…`)`, `db.all(sql`…`)`) as SQL text, parameters and method. */
export function compiled(item: BatchItem<"sqlite">): WriteQuery {
  return (item as unknown as { getQuery(): WriteQuery }).getQuery();
}
