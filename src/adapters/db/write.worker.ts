/**
 * Worker thread of the write thread (write-thread.ts): its own libSQL connection to the database
 * file, committing the write batches the server posts, each in one IMMEDIATE transaction. SQLite
 * parses, plans and runs the statements and writes the WAL here, off the thread that serves HTTP.
 */
import Database from "libsql";
import type { WriteQuery } from "../../db/write-thread";
import { CONNECTION_PRAGMAS } from "./connection-settings";
import { installStatementCache } from "./statement-cache";

export type Request =
  | { type: "open"; path: string; autocheckpointPages: number | null }
  | { type: "batch"; id: number; queries: WriteQuery[] }
  | { type: "close" };

export type Reply =
  | { type: "opened" }
  | { type: "failed"; error: string }
  | { type: "done"; id: number; results: unknown[] }
  | { type: "error"; id: number; message: string; code: string | undefined; rawCode: number | undefined }
  | { type: "closed" };

declare const self: {
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  postMessage(message: Reply): void;
};

installStatementCache();
let db: Database.Database | null = null;

/** Values as @libsql/client binds them: booleans as 0/1, dates as epoch ms. */
function bindable(params: unknown[]): unknown[] {
  return params.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v instanceof Date ? v.getTime() : v));
}

function runBatch(conn: Database.Database, queries: WriteQuery[]): unknown[] {
  conn.exec("BEGIN IMMEDIATE");
  try {
    const results = queries.map((q) => {
      const stmt = conn.prepare(q.sql);
      const args = bindable(q.params);
      switch (q.method) {
        case "run":
          return { rowsAffected: stmt.run(args).changes };
        case "all":
          return stmt.all(args);
        case "get":
          return stmt.all(args)[0]; // get() would add libsql's _metadata to the row
        default:
          throw new Error(`write thread: unsupported method ${q.method}`);
      }
    });
    conn.exec("COMMIT");
    return results;
  } catch (err) {
    // SQLite may have rolled back already (some errors end the transaction themselves); a failed
    // ROLLBACK must not hide the error that caused it.
    try {
      if (conn.inTransaction) conn.exec("ROLLBACK");
    } catch {}
    throw err;
  }
}

self.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === "open") {
    try {
      db = new Database(msg.path);
      for (const pragma of CONNECTION_PRAGMAS) db.exec(pragma);
      if (msg.autocheckpointPages !== null) db.exec(`PRAGMA wal_autocheckpoint = ${msg.autocheckpointPages}`);
      self.postMessage({ type: "opened" });
    } catch (err) {
      self.postMessage({ type: "failed", error: String((err as Error).message ?? err) });
    }
  } else if (msg.type === "batch") {
    let results: unknown[];
    try {
      if (!db) throw new Error("write thread is closed");
      results = runBatch(db, msg.queries);
    } catch (err) {
      const { message, code, rawCode } = err as { message?: string; code?: string; rawCode?: number };
      self.postMessage({ type: "error", id: msg.id, message: String(message ?? err), code, rawCode });
      return;
    }
    self.postMessage({ type: "done", id: msg.id, results });
  } else if (msg.type === "close") {
    db?.close();
    db = null;
    self.postMessage({ type: "closed" });
  }
};
