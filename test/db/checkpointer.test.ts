/**
 * Background WAL checkpoints (src/adapters/db/checkpointer.ts): with the worker on, the server's
 * connection stops checkpointing at 1,000 pages (its threshold becomes a 10,000-page backstop), the
 * worker copies committed frames into the database file, and the WAL restarts from its beginning
 * instead of growing; the write thread's connection checkpoints at 4,000 pages, so the WAL restarts
 * under continuous writes too — all on a real file database, through the app's own openLibsql.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import {
  BACKSTOP_PAGES,
  startCheckpointer,
  WRITE_THREAD_CHECKPOINT_PAGES,
} from "../../src/adapters/db/checkpointer";
import { type LibsqlDb, openLibsql } from "../../src/adapters/db/libsql";
import { stopAll, tempDir } from "../support/process";

afterAll(() => stopAll());

/** Resolves when `cond` holds (a real thread works on its own schedule), or fails after `ms`. */
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("timed out waiting for the checkpointer");
    await Bun.sleep(5);
  }
}

async function open(dir: string, checkpointIntervalMs: number): Promise<LibsqlDb> {
  const opened = await openLibsql({ url: `file:${join(dir, "t.db")}`, checkpointIntervalMs });
  await opened.client.execute("CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, body BLOB)");
  return opened;
}

/** Commits `pages` pages of new rows (one 4 KiB-ish row per page), 50 rows per commit. */
async function write(o: LibsqlDb, pages: number): Promise<void> {
  for (let i = 0; i < pages; i += 50)
    await o.client.batch(
      Array.from({ length: 50 }, () => ({
        sql: "INSERT INTO blobs (body) VALUES (randomblob(3900))",
        args: [],
      })),
      "write",
    );
}

describe("background WAL checkpoints", () => {
  test("the worker checkpoints, the server's connection only keeps a backstop, and the WAL restarts instead of growing", async () => {
    const dir = tempDir("tt-ckpt-");
    const o = await open(dir, 10);
    const cp = o.checkpointer;
    expect(cp).not.toBeNull();
    const [auto] = (await o.client.execute("PRAGMA wal_autocheckpoint")).rows;
    expect(Number(Object.values(auto as object)[0])).toBe(BACKSTOP_PAGES);

    const wal = join(dir, "t.db-wal");
    const sizes: number[] = [];
    for (let round = 0; round < 5; round++) {
      await write(o, 800);
      // A checkpoint that saw the WAL as this round's last commit left it copied every frame.
      const written = statSync(wal).mtimeMs;
      await until(() => cp?.stats.walMtime === written && cp?.stats.checkpointed === cp?.stats.log);
      sizes.push(statSync(wal).size);
    }
    // 4,000 pages were written; with the 10,000-page backstop nothing but the worker checkpointed,
    // and the WAL file stayed about one round (800 pages) long because each round reused it.
    const page = 4096 + 24;
    expect(Math.max(...sizes)).toBeLessThan(1_200 * page);
    expect(cp?.stats.errors).toBe(0);
    const [count] = (await o.client.execute("SELECT count(*) AS n FROM blobs")).rows;
    expect(Number((count as unknown as { n: number }).n)).toBe(4_000);
    await cp?.close();
    o.client.close();

    // Everything is in the database file: a fresh connection reads it all.
    const again = await open(dir, 0);
    expect(again.checkpointer).toBeNull();
    expect((await again.db.all<{ n: number }>(sql`SELECT count(*) AS n FROM blobs`))[0]?.n).toBe(4_000);
    again.client.close();
  });

  test("the write thread checkpoints its own WAL at 4,000 pages, so under continuous writes the WAL restarts instead of growing to the backstop", async () => {
    // The background checkpointer is on but its first run is a minute away: only the thread's own
    // checkpoints run here, as when the thread commits again before a background run finishes.
    const dir = tempDir("tt-ckpt-");
    const o = await openLibsql({
      url: `file:${join(dir, "t.db")}`,
      checkpointIntervalMs: 60_000,
      writeThread: true,
    });
    await o.client.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)");
    const thread = o.writeThread;
    if (!thread) throw new Error("no write thread on a file database");
    expect(WRITE_THREAD_CHECKPOINT_PAGES).toBeLessThan(BACKSTOP_PAGES / 2);
    const wal = join(dir, "t.db-wal");
    const page = 4096 + 24;
    let largest = 0;
    // 12,000 pages in batches of 100 rows of ~one page each.
    for (let i = 0; i < 120; i++) {
      await thread.batch([
        {
          sql: `INSERT INTO blobs (body) SELECT randomblob(3900) FROM (${"SELECT 1 UNION ALL ".repeat(99)}SELECT 1)`,
          params: [],
          method: "run",
        },
      ]);
      largest = Math.max(largest, statSync(wal).size);
    }
    // The WAL never grew much past the thread's threshold (at the 10,000-page backstop it would have
    // reached 10,000 pages), and every row is there.
    expect(largest).toBeGreaterThan((WRITE_THREAD_CHECKPOINT_PAGES - 200) * page);
    expect(largest).toBeLessThan((WRITE_THREAD_CHECKPOINT_PAGES + 500) * page);
    const [count] = (await o.client.execute("SELECT count(*) AS n FROM blobs")).rows;
    expect(Number((count as unknown as { n: number }).n)).toBe(12_000);
    await thread.close();
    await o.checkpointer?.close();
    o.client.close();
  });

  test("without the worker (interval 0), SQLite's automatic checkpoints stay as they were", async () => {
    const o = await open(tempDir("tt-ckpt-"), 0);
    expect(o.checkpointer).toBeNull();
    const [auto] = (await o.client.execute("PRAGMA wal_autocheckpoint")).rows;
    expect(Number(Object.values(auto as object)[0])).toBe(1_000);
    o.client.close();
  });

  test("close() runs a last checkpoint and stops the worker; closing twice is harmless", async () => {
    const o = await open(tempDir("tt-ckpt-"), 60_000); // the timer would not fire during the test
    await write(o, 100);
    const cp = o.checkpointer;
    expect(cp?.stats.runs).toBe(0);
    await cp?.close();
    await cp?.close();
    expect(cp?.stats.runs).toBe(1);
    expect(cp?.stats.checkpointed).toBe(cp?.stats.log);
    expect(cp?.stats.log).toBeGreaterThan(0);
    o.client.close();
  });

  test("a database the worker cannot open is refused at start (the caller keeps automatic checkpoints)", async () => {
    await expect(startCheckpointer(join(tempDir("tt-ckpt-"), "missing", "dir", "t.db"), 10)).rejects.toThrow(
      "checkpoint worker",
    );
  });
});
