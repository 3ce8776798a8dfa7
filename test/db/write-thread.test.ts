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
import { sql } from "drizzle-orm";
import { openLibsql } from "../../src/adapters/db/libsql";
import { startWriteThread, WriteLock } from "../../src/adapters/db/write-thread";
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
      { sql: "SELECT ? AS yes, ? AS no, count(*) AS n FROM notes", params: [true, false], method: "get" },
    ]);
    expect(results).toEqual([
      { rowsAffected: 2 },
      { rowsAffected: 1 },
      [
        { id: 1, body: "a!" },
        { id: 2, body: "b" },
      ],
      // Booleans are bound as 1/0, as @libsql/client binds them.
      { yes: 1, no: 0, n: 2 },
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

describe("the server's connection alongside the thread", () => {
  /** Holds the write lock for a while: a write, then a long computation in the same transaction. */
  const slowBatch = (body: string) => [
    run("INSERT INTO notes (body) VALUES (?)", [body]),
    all(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) AS n FROM c",
    ),
  ];

  test("its writes wait for a thread batch without blocking the event loop; its reads do not wait", async () => {
    const o = await openFile();
    const done: string[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const batch = o.thread.batch(slowBatch("thread")).then(() => done.push("thread batch"));
    // Through drizzle, as every repo writes: this waits for the batch, asynchronously.
    const write = o.db
      .run(sql`INSERT INTO notes (body) VALUES ('server')`)
      .then(() => done.push("server write"));
    const read = o.db.all(sql`SELECT count(*) AS n FROM notes`).then((rows) => {
      done.push("server read");
      return rows;
    });
    // A read behind a common table expression (the timeline and app usage queries) does not wait either.
    const withRead = o.db
      .all(sql`WITH c AS (SELECT count(*) AS n FROM notes) SELECT n FROM c`)
      .then((rows) => {
        done.push("server WITH read");
        return rows;
      });
    // WAL: the reads run at once and see nothing of the uncommitted batch.
    expect(await read).toEqual([{ n: 0 }]);
    expect(await withRead).toEqual([{ n: 0 }]);
    await Promise.all([batch, write]);
    clearInterval(timer);
    expect(done).toEqual(["server read", "server WITH read", "thread batch", "server write"]);
    // The event loop kept running while the thread held SQLite's write lock (a write meeting that
    // lock inside SQLite would have slept in its busy handler, on this thread, until the commit).
    expect(ticks).toBeGreaterThan(5);
    expect(await bodies(o)).toEqual(["thread", "server"]);
    await o.close();
  });

  test("a batch queued behind another is observed from that one's answer, not from its own posting", async () => {
    const log: string[] = [];
    const o = await openFile(async (_op, sql, fn) => {
      const name = sql.includes("RECURSIVE") ? "slow" : "fast";
      log.push(`observe ${name}`);
      const out = await fn();
      log.push(`answered ${name}`);
      return out;
    });
    await Promise.all([
      o.thread.batch(slowBatch("slow")),
      o.thread.batch([run("INSERT INTO notes (body) VALUES ('fast')")]),
    ]);
    // Both were posted at once (the WriteLock tests show it); the fast one's time starts when the
    // thread could start it, so its duration, span and slow-query warning are its own.
    expect(log).toEqual(["observe slow", "answered slow", "observe fast", "answered fast"]);
    expect(await bodies(o)).toEqual(["slow", "fast"]);
    await o.close();
  });

  test("thread batches, a server write between them and a batch after it commit in the order asked", async () => {
    const o = await openFile();
    const done: string[] = [];
    const note = (name: string) => () => done.push(name);
    const first = o.thread.batch(slowBatch("thread 1")).then(note("thread 1"));
    const second = o.thread
      .batch([run("INSERT INTO notes (body) VALUES ('thread 2')")])
      .then(note("thread 2"));
    const server = o.db.run(sql`INSERT INTO notes (body) VALUES ('server')`).then(note("server"));
    const third = o.thread
      .batch([run("INSERT INTO notes (body) VALUES ('thread 3')")])
      .then(note("thread 3"));
    await Promise.all([first, second, server, third]);
    expect(done).toEqual(["thread 1", "thread 2", "server", "thread 3"]);
    expect(await bodies(o)).toEqual(["thread 1", "thread 2", "server", "thread 3"]);
    await o.close();
  });

  test("every connection of the server's client has the server's settings, however calls overlap", async () => {
    const o = await openFile();
    // Overlapping calls on the client (a pooled client opens a connection for each one that finds
    // the others busy), then each PRAGMA read back as many times at once.
    const pragma = (name: string) =>
      Promise.all(Array.from({ length: 6 }, () => o.client.execute(`PRAGMA ${name}`)));
    for (const [name, want] of [
      ["busy_timeout", 5000],
      ["synchronous", 1], // NORMAL; a fresh connection would say 2 (FULL)
      ["foreign_keys", 1],
    ] as const)
      for (const { rows } of await pragma(name)) expect(rows[0]?.[0]).toBe(want);
    await o.close();
  });

  test("a file URL with percent-escapes: the thread opens the file the server's connection has open", async () => {
    const dir = tempDir("tt-write-thread-");
    const opened = await openLibsql({ url: `file:${join(dir, "my%20data.db")}`, writeThread: true });
    await opened.client.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    await opened.writeThread?.batch([run("INSERT INTO notes (body) VALUES ('through the thread')")]);
    const { rows } = await opened.client.execute("SELECT body FROM notes");
    expect(rows.map((r) => r.body)).toEqual(["through the thread"]);
    await opened.writeThread?.close();
    opened.client.close();
  });
});

describe("WriteLock", () => {
  /** A write that starts when the lock lets it and ends when released; `log` says when. */
  function writes() {
    const log: string[] = [];
    const releases = new Map<string, () => void>();
    const write = (name: string) => (sent?: () => void) => {
      log.push(`start ${name}`);
      sent?.();
      return new Promise<string>((r) =>
        releases.set(name, () => {
          log.push(`end ${name}`);
          r(name);
        }),
      );
    };
    const turn = () => new Promise((r) => setImmediate(r));
    const release = async (name: string) => {
      releases.get(name)?.();
      await turn();
    };
    return { log, write, turn, release };
  }

  test("a thread batch is sent while the one before it commits; a server write waits for both; a batch after it waits for it", async () => {
    const lock = new WriteLock();
    const { log, write, turn, release } = writes();
    const t1 = lock.run(write("t1"), true);
    const t2 = lock.run(write("t2"), true);
    const s = lock.run(write("s"));
    const t3 = lock.run(write("t3"), true);
    await turn();
    expect(log).toEqual(["start t1", "start t2"]);
    await release("t2"); // (a thread answers in order; the lock does not rely on it)
    expect(log).toEqual(["start t1", "start t2", "end t2"]);
    await release("t1");
    expect(log).toEqual(["start t1", "start t2", "end t2", "end t1", "start s"]);
    await release("s");
    expect(log.slice(-2)).toEqual(["end s", "start t3"]);
    await release("t3");
    expect(await Promise.all([t1, t2, s, t3])).toEqual(["t1", "t2", "s", "t3"]);
  });

  test("server writes take turns one at a time, and a failed write does not hold the lock", async () => {
    const lock = new WriteLock();
    const { log, write, turn, release } = writes();
    const failing = lock.run(() => Promise.reject(new Error("refused")));
    const s1 = lock.run(write("s1"));
    const s2 = lock.run(write("s2"));
    await expect(failing).rejects.toThrow("refused");
    await turn();
    expect(log).toEqual(["start s1"]);
    await release("s1");
    expect(log).toEqual(["start s1", "end s1", "start s2"]);
    await release("s2");
    expect(await Promise.all([s1, s2])).toEqual(["s1", "s2"]);
  });

  test("the next thread batch waits until the one before it says it was sent", async () => {
    const lock = new WriteLock();
    const { log, write, turn, release } = writes();
    let sayPosted: () => void = () => {};
    const t1 = lock.run((sent) => {
      sayPosted = sent;
      return write("t1")();
    }, true);
    const t2 = lock.run(write("t2"), true);
    await turn();
    expect(log).toEqual(["start t1"]); // t1 has not said it was posted
    sayPosted();
    await turn();
    expect(log).toEqual(["start t1", "start t2"]);
    await release("t1");
    await release("t2");
    expect(await Promise.all([t1, t2])).toEqual(["t1", "t2"]);
  });

  test("a thread batch that throws at once still lets the next one go", async () => {
    const lock = new WriteLock();
    const { log, write, turn, release } = writes();
    const broken = lock.run(() => {
      throw new Error("could not send");
    }, true);
    const t2 = lock.run(write("t2"), true);
    await expect(broken).rejects.toThrow("could not send");
    await turn();
    expect(log).toEqual(["start t2"]);
    await release("t2");
    expect(await t2).toBe("t2");
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
