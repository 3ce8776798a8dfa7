import { type Client, createClient, type Config as LibsqlConfig } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import type { Db, DbDialect } from "../../db/client";
import * as schema from "../../db/schema";
import { useWriteThread, type WriteThread } from "../../db/write-thread";
import type { QueryObserver } from "../../telemetry/db";
import { BACKSTOP_PAGES, type BackgroundCheckpointer, startCheckpointer } from "./checkpointer";
import { instrumentClient } from "./libsql-instrument";
import { installStatementCache } from "./statement-cache";
import { startWriteThread } from "./write-thread";

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
  // Embedded connections reuse prepared statements (statement-cache.ts); sqld prepares server-side.
  if (dialect !== "libsql-remote") installStatementCache();
  const raw = createClient(cfg);
  if (dialect === "libsql-file") {
    // WAL lets readers run during a write; NORMAL sync is durable at WAL checkpoints and much faster.
    // busy_timeout first: switching to WAL needs a lock another process may briefly hold.
    await raw.execute("PRAGMA busy_timeout = 5000");
    await raw.execute("PRAGMA journal_mode = WAL");
    await raw.execute("PRAGMA synchronous = NORMAL");
  }
  if (dialect !== "libsql-remote") await raw.execute("PRAGMA foreign_keys = ON");
  let checkpointer: BackgroundCheckpointer | null = null;
  if (dialect === "libsql-file" && opts.checkpointIntervalMs && typeof Worker !== "undefined") {
    try {
      checkpointer = await startCheckpointer(fileUrlPath(opts.url), opts.checkpointIntervalMs);
      await raw.execute(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    } catch (err) {
      opts.onCheckpointerError?.(err);
    }
  }
  const client = opts.observe ? instrumentClient(raw, opts.observe) : raw;
  const db = drizzle(client, { schema }) as Db;
  let writeThread: WriteThread | null = null;
  if (dialect === "libsql-file" && opts.writeThread && typeof Worker !== "undefined") {
    try {
      writeThread = await startWriteThread(fileUrlPath(opts.url), {
        autocheckpointPages: checkpointer ? BACKSTOP_PAGES : null,
        observe: opts.observe,
      });
      useWriteThread(db, writeThread);
    } catch (err) {
      opts.onWriteThreadError?.(err);
    }
  }
  return { db, client: raw, dialect, checkpointer, writeThread };
}
