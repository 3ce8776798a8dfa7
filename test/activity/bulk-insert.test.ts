/**
 * Bulk inserts of ingest's group commits (src/modules/activity/bulk-insert.ts): the same rows stored
 * either way — one `json_each` statement on the server's connection, fixed-size multi-row `VALUES`
 * statements on the write thread — and the `allNew` guard aborting the whole batch when a row exists.
 * On a real file database with its write thread, opened as the platform opens it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openLibsql } from "../../src/adapters/db/libsql";
import { type BulkInsert, jsonEachInsert, valuesInsert } from "../../src/modules/activity/bulk-insert";
import { isGuardFailure, runBatch } from "../../src/modules/time/time.db";
import { stopAll, tempDir } from "../support/process";

afterAll(() => stopAll());

const NOTES: BulkInsert = {
  table: "notes",
  columns: ["k", "body", "n", "flag"],
  onConflict: "ON CONFLICT (k) DO NOTHING",
  allNew: true,
};

async function open() {
  const o = await openLibsql({ url: `file:${join(tempDir("tt-bulk-"), "t.db")}`, writeThread: true });
  await o.client.execute(
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, body TEXT, n INTEGER, flag INTEGER)",
  );
  const thread = o.writeThread;
  if (!thread) throw new Error("no write thread on a file database");
  return {
    ...o,
    thread,
    rows: async () =>
      (await o.client.execute("SELECT k, body, n, flag FROM notes ORDER BY id")).rows.map(
        (r) => ({ ...r }) as Record<string, unknown>,
      ),
    reset: () => o.client.execute("DELETE FROM notes"),
    close: async () => {
      await thread.close();
      o.client.close();
    },
  };
}

// Values of every kind a heartbeat row has: text with quotes and non-ASCII, null, integers, 0/1.
const rowsOf = (count: number, prefix = "k") =>
  Array.from({ length: count }, (_, i) => [
    `${prefix}${i}`,
    i % 5 === 0 ? null : `it's "row" ${i} — ü`,
    i * 1_000_003,
    i % 2,
  ]);

describe("bulk insert", () => {
  test("VALUES chunks (128, 32, 8, 1 rows) store exactly what one json_each statement stores, in order", async () => {
    const o = await open();
    for (const count of [1, 7, 8, 41, 128, 300]) {
      const rows = rowsOf(count);
      await runBatch(o.db, jsonEachInsert(o.db, NOTES, rows));
      const viaJson = await o.rows();
      await o.reset();
      const queries = valuesInsert(o.db, NOTES, rows);
      const inserts = queries.filter((q) => q.sql.startsWith("INSERT"));
      // Largest chunks first; every insert is followed by its guard.
      const sizes = inserts.map((q) => q.params.length / NOTES.columns.length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(count);
      expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
      expect(sizes.every((s) => [128, 32, 8, 1].includes(s))).toBe(true);
      expect(queries.length).toBe(inserts.length * 2);
      const results = await o.thread.batch(queries);
      expect(results.filter((_, i) => i % 2 === 0)).toEqual(sizes.map((s) => ({ rowsAffected: s })));
      expect(await o.rows()).toEqual(viaJson);
      expect(viaJson.length).toBe(count);
      await o.reset();
    }
    // 300 rows: 128 + 128 + 32 + 8 + 4 × 1.
    const sizes300 = valuesInsert(o.db, NOTES, rowsOf(300))
      .filter((q) => q.sql.startsWith("INSERT"))
      .map((q) => q.params.length / 4);
    expect(sizes300).toEqual([128, 128, 32, 8, 1, 1, 1, 1]);
    await o.close();
  });

  test("one SQL text per chunk size, whatever the row count (the thread's statement cache hits)", async () => {
    const o = await open();
    const texts = new Set<string>();
    for (let count = 1; count <= 400; count += 13)
      for (const q of valuesInsert(o.db, NOTES, rowsOf(count))) texts.add(q.sql);
    // Four insert texts, and the guard (its row count is a bound parameter).
    expect(texts.size).toBe(5);
    await o.close();
  });

  test("allNew: a row that already exists aborts the whole batch as a guard failure, in both forms", async () => {
    const o = await open();
    await o.thread.batch(valuesInsert(o.db, NOTES, [["k150", "first", 1, 0]]));
    const rows = rowsOf(200);
    const viaThread = await o.thread.batch(valuesInsert(o.db, NOTES, rows)).catch((e: unknown) => e);
    expect(isGuardFailure(viaThread)).toBe(true);
    const viaServer = await runBatch(o.db, jsonEachInsert(o.db, NOTES, rows)).catch((e: unknown) => e);
    expect(isGuardFailure(viaServer)).toBe(true);
    // Nothing of either batch was stored; the existing row is untouched.
    expect(await o.rows()).toEqual([{ k: "k150", body: "first", n: 1, flag: 0 }]);
    // Without allNew the existing row is skipped and the rest stored.
    await o.thread.batch(valuesInsert(o.db, { ...NOTES, allNew: false }, rows));
    expect((await o.rows()).length).toBe(200);
    await o.close();
  });

  test("no rows: no statements", async () => {
    const o = await open();
    expect(valuesInsert(o.db, NOTES, [])).toEqual([]);
    expect(jsonEachInsert(o.db, NOTES, [])).toEqual([]);
    await o.close();
  });
});
