import { type Client, createClient, type Config as LibsqlConfig } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import type { Db, DbDialect } from "../../db/client";
import * as schema from "../../db/schema";
import { useWriteThread, type WriteThread } from "../../db/write-thread";
import type { QueryObserver } from "../../telemetry/db";
import {
  BACKSTOP_PAGES,
  type BackgroundCheckpointer,
  startCheckpointer,
  WRITE_THREAD_CHECKPOINT_PAGES,
} from "./checkpointer";
import { BUSY_TIMEOUT_MS, CONNECTION_PRAGMAS } from "./connection-settings";
import { instrumentClient } from "./libsql-instrument";
import { installStatementCache } from "./statement-cache";
import { serializeWrites, startWriteThread, WriteLock } from "./write-thread";

export { instrumentClient };

export function dialectOf(url: string): DbDialect {
  if (url === ":memory:" || url === "file::memory:") return "libsql-memory";
  if (url.startsWith("file:")) return "libsql-file";
  return "libsql-remote";
}

export interface LibsqlDb {
  db: Db;
  client: Client;
  dialect: DbDialect;
  /** The background checkpointer of a file database, when one runs (close it before the client). */
  checkpointer: BackgroundCheckpointer | null;
  /** The write thread of a file database, when one runs (close it before the client). */
  writeThread: WriteThread | null;
}

/** The file path of a `file:` URL (query string dropped), as libSQL opens it. */
export function fileUrlPath(url: string): string {
  const path = url.slice("file:".length).split("?")[0] as string;
  return path.startsWith("//") ? path.slice(2) : path;
}

/** The path of the file the connection has open (`main`), as SQLite resolved it from the URL. */
async function openedFile(client: Client): Promise<string> {
  const { rows } = await client.execute("PRAGMA database_list");
  const main = rows.find((r) => r.name === "main");
  if (!main?.file) throw new Error("no database file behind the connection");
  return String(main.file);
}

/** Opens a libSQL database (file, memory or server) with drizzle over it. */
export async function openLibsql(opts: {
  url: string;
  authToken?: string;
  observe?: QueryObserver;
  /**
   * File databases: run WAL checkpoints on a worker thread every this many ms (checkpointer.ts)
   * instead of inside commits; 0 or absent leaves them to SQLite's automatic checkpoints.
   */
  checkpointIntervalMs?: number;
  /** Told when the background checkpointer cannot start (automatic checkpoints stay on). */
  onCheckpointerError?: (err: unknown) => void;
  /** File databases: commit heartbeat ingest's write batches on a worker thread (write-thread.ts). */
  writeThread?: boolean;
  /** Told when the write thread cannot start (those batches stay on the server's connection). */
  onWriteThreadError?: (err: unknown) => void;
}): Promise<LibsqlDb> {
  const dialect = dialectOf(opts.url);
  const cfg: LibsqlConfig = { url: opts.url === "file::memory:" ? ":memory:" : opts.url };
  if (opts.authToken) cfg.authToken = opts.authToken;
  if (dialect === "libsql-file") {
    // One connection: the local client is synchronous under its promises, so a pool adds no
    // parallelism, and the PRAGMAs below are per connection — a second pooled connection, opened
    // whenever two calls overlap, would run without busy_timeout, with synchronous = FULL and
    // without this process's statement cache warm. `timeout` is the busy timeout of that connection.
    cfg.concurrency = 1;
    cfg.timeout = BUSY_TIMEOUT_MS;
  }
  // Embedded connections reuse prepared statements (statement-cache.ts); sqld prepares server-side.
  if (dialect !== "libsql-remote") installStatementCache();
  const raw = createClient(cfg);
  /** The database file, when worker threads may open it too (WAL, and a runtime with Workers). */
  let file: string | null = null;
  if (dialect === "libsql-file") {
    // The busy timeout is already set (`timeout` above): switching to WAL needs a lock another
    // process may briefly hold. WAL lets readers run during a write.
    for (const pragma of CONNECTION_PRAGMAS) await raw.execute(pragma);
    const mode = (await raw.execute("PRAGMA journal_mode = WAL")).rows[0];
    // The worker threads below open the same file; without WAL (a file system without shared
    // memory) their connections would block this one's readers: no workers then.
    if (String(mode?.[0]).toLowerCase() === "wal" && typeof Worker !== "undefined")
      file = await openedFile(raw);
  } else if (dialect === "libsql-memory") await raw.execute("PRAGMA foreign_keys = ON");
  let checkpointer: BackgroundCheckpointer | null = null;
  if (file && opts.checkpointIntervalMs) {
    try {
      checkpointer = await startCheckpointer(file, opts.checkpointIntervalMs);
      await raw.execute(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    } catch (err) {
      opts.onCheckpointerError?.(err);
    }
  }
  const instrumented = opts.observe ? instrumentClient(raw, opts.observe) : raw;
  const lock = new WriteLock();
  let writeThread: WriteThread | null = null;
  if (file && opts.writeThread) {
    try {
      writeThread = await startWriteThread(file, {
        lock,
        autocheckpointPages: checkpointer ? WRITE_THREAD_CHECKPOINT_PAGES : null,
        observe: opts.observe,
      });
    } catch (err) {
      opts.onWriteThreadError?.(err);
    }
  }
  // With a write thread, the server's own writes take turns with its batches (write-thread.ts).
  const client = writeThread ? serializeWrites(instrumented, lock) : instrumented;
  const db = drizzle(client, { schema }) as Db;
  if (writeThread) useWriteThread(db, writeThread);
  return { db, client: raw, dialect, checkpointer, writeThread };
}
