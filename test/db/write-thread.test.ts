/**
 * The write thread (src/adapters/db/write-thread.ts): a Worker with its own connection to the
 * database file committing write batches — each batch one transaction, errors carrying SQLite's
 * message and code, commits visible at once to the server's connection, closing without losing a
 * batch already sent — and the platform wiring: a file database gets one unless DB_WRITE_THREAD is
 * false, an in-memory one never does, and once the thread is closed ingest commits on the server's
 * connection again. All on real files, through the app's own openLibsql.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openLibsql } from "../../src/adapters/db/libsql";
import { startWriteThread } from "../../src/adapters/db/write-thread";
import { type WriteQuery, writeThreadOf } from "../../src/db/write-thread";
import { isUniqueViolation } from "../../src/modules/time/time.db";
import { ingest, storedHeartbeats, tracker } from "../activity/support";
import { createTestApp } from "../support/app";
import { stopAll, tempDir } from "../support/process";

afterAll(() => stopAll());

const run = (sql: string, params: unknown[] = []): WriteQuery => ({ sql, params, method: "run" });
const all = (sql: string, params: unknown[] = []): WriteQuery => ({ sql, params, method: "all" });

/** A file database with a `notes` table, opened the way the platform opens it, with its write thread. */
async function openFile(observe?: Parameters<typeof openLibsql>[0]["observe"]) {
  const dir = tempDir("tt-write-thread-");
  const opened = await openLibsql({ url: `file:${join(dir, "t.db")}`, writeThread: true, observe });
  await opened.client.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)");
  const thread = opened.writeThread;
  if (!thread) throw new Error("no write thread on a file database");
  const close = async () => {
    await thread.close();
    opened.client.close();
  };
  return { ...opened, thread, dir, close };
}

const bodies = async (o: Awaited<ReturnType<typeof openFile>>) =>
  (await o.client.execute("SELECT body FROM notes ORDER BY id")).rows.map((r) => r.body);

describe("write thread", () => {
  test("a batch commits in one transaction; results per statement; the server's connection sees it at once", async () => {
    const o = await openFile();
    const results = await o.thread.batch([
      run("INSERT INTO notes (body) VALUES (?), (?)", ["a", "b"]),
      run("UPDATE notes SET body = body || ? WHERE body = ?", ["!", "a"]),
      all("SELECT id, body FROM notes ORDER BY id"),
      { sql: "SELECT count(*) AS n FROM notes WHERE body > ?", params: [true], method: "get" },
    ]);
    expect(results).toEqual([
      { rowsAffected: 2 },
      { rowsAffected: 1 },
      [
        { id: 1, body: "a!" },
        { id: 2, body: "b" },
      ],
      // Booleans are bound as 0/1, as @libsql/client binds them.
      { n: 2 },
    ]);
    expect(await bodies(o)).toEqual(["a!", "b"]);
    expect(o.thread.committed).toBe(1);
    await o.close();
  });

  test("an error anywhere rolls the whole batch back and carries SQLite's message and code", async () => {
    const o = await openFile();
    await o.thread.batch([run("INSERT INTO notes (body) VALUES (?)", ["kept"])]);
    const err = await o.thread
      .batch([
        run("INSERT INTO notes (body) VALUES (?)", ["lost"]),
        run("UPDATE notes SET body = ? WHERE body = ?", ["renamed", "kept"]),
        run("INSERT INTO notes (body) VALUES (?)", ["renamed"]),
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isUniqueViolation(err, "notes.body")).toBe(true);
    expect((err as { code?: string }).code).toStartWith("SQLITE_CONSTRAINT");
    expect(await bodies(o)).toEqual(["kept"]);
    // The connection is usable after a failed batch (no transaction left open).
    await o.thread.batch([run("INSERT INTO notes (body) VALUES (?)", ["after"])]);
    expect(await bodies(o)).toEqual(["kept", "after"]);
    await o.close();
  });

  test("batches sent together commit in the order sent", async () => {
    const o = await openFile();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        o.thread.batch([run("INSERT INTO notes (body) VALUES (?)", [`n${i}`])]),
      ),
    );
    expect(await bodies(o)).toEqual(Array.from({ length: 50 }, (_, i) => `n${i}`));
    expect(o.thread.committed).toBe(50);
    await o.close();
  });

  test("close runs the batches already sent, then refuses new ones; the thread stops being used", async () => {
    const o = await openFile();
    const sent = Array.from({ length: 5 }, (_, i) =>
      o.thread.batch([run("INSERT INTO notes (body) VALUES (?)", [`before-close-${i}`])]),
    );
    const closed = o.thread.close();
    expect(o.thread.usable).toBe(false);
    expect(writeThreadOf(o.db)).toBeNull();
    await expect(o.thread.batch([run("INSERT INTO notes (body) VALUES ('late')")])).rejects.toThrow(
      "write thread is closed",
    );
    await Promise.all(sent);
    await closed;
    expect(await bodies(o)).toEqual(Array.from({ length: 5 }, (_, i) => `before-close-${i}`));
    o.client.close();
  });

  test("a database file it cannot open is refused at start", async () => {
    const missing = join(tempDir("tt-write-thread-"), "no", "such", "dir", "t.db");
    await expect(startWriteThread(missing)).rejects.toThrow("write thread:");
  });

  test("each batch is observed like the server connection's (operation, SQL, outcome)", async () => {
    const seen: { op: string; sql: string; ok: boolean }[] = [];
    const o = await openFile(async (op, sql, fn) => {
      try {
        const out = await fn();
        seen.push({ op, sql, ok: true });
        return out;
      } catch (err) {
        seen.push({ op, sql, ok: false });
        throw err;
      }
    });
    await o.thread.batch([run("INSERT INTO notes (body) VALUES (?)", ["x"]), all("SELECT 1 AS one")]);
    await o.thread.batch([run("INSERT INTO notes (body) VALUES (?)", ["x"])]).catch(() => {});
    expect(seen.filter((s) => s.op === "batch")).toEqual([
      { op: "batch", sql: "INSERT INTO notes (body) VALUES (?);\nSELECT 1 AS one", ok: true },
      { op: "batch", sql: "INSERT INTO notes (body) VALUES (?)", ok: false },
    ]);
    await o.close();
  });
});

describe("platform wiring", () => {
  const fileEnv = (extra: Record<string, string> = {}) => {
    const dir = tempDir("tt-write-thread-app-");
    return { DATABASE_URL: `file:${join(dir, "t.db")}`, DATA_DIR: dir, ...extra };
  };

  test("a file database gets a write thread; DB_WRITE_THREAD=false and in-memory databases do not", async () => {
    const threaded = await createTestApp(fileEnv());
    const off = await createTestApp(fileEnv({ DB_WRITE_THREAD: "false" }));
    const memory = await createTestApp();
    expect(writeThreadOf(threaded.platform.db)).not.toBeNull();
    expect(writeThreadOf(off.platform.db)).toBeNull();
    expect(writeThreadOf(memory.platform.db)).toBeNull();
    // Ingest stores the same either way.
    for (const app of [threaded, off, memory]) {
      const who = await tracker(app);
      await ingest(app, who, [
        { id: "w-1", time: "2026-01-05T08:00:00Z", duration: 30, app: "Code", idle: false },
      ]);
      expect((await storedHeartbeats(app, who.memberId)).map((h) => h.clientId)).toEqual(["w-1"]);
    }
    await Promise.all([threaded.close(), off.close(), memory.close()]);
  });

  test("once its write thread is closed, ingest commits on the server's connection", async () => {
    const app = await createTestApp(fileEnv());
    const thread = writeThreadOf(app.platform.db);
    const who = await tracker(app);
    await ingest(app, who, [
      { id: "t-1", time: "2026-01-05T08:00:00Z", duration: 30, app: "Code", idle: false },
    ]);
    const committed = thread?.committed ?? 0;
    expect(committed).toBeGreaterThan(0);
    await thread?.close();
    expect(writeThreadOf(app.platform.db)).toBeNull();
    await ingest(app, who, [
      { id: "t-2", time: "2026-01-05T08:00:30Z", duration: 30, app: "Code", idle: false },
    ]);
    expect((await storedHeartbeats(app, who.memberId)).map((h) => h.clientId)).toEqual(["t-1", "t-2"]);
    expect(thread?.committed).toBe(committed);
    await app.close();
  });
});
