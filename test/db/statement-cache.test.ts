/**
 * The embedded libSQL prepared-statement cache (src/adapters/db/statement-cache.ts): hot queries
 * reuse statements, and reuse never changes a result — not across connections to one file, not
 * after a failed statement, not after a schema change, not for statements that return no rows.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { eq } from "drizzle-orm";
import { openLibsql } from "../../src/adapters/db/libsql";
import { installStatementCache, statementCacheStats } from "../../src/adapters/db/statement-cache";
import { users } from "../../src/db/schema";

installStatementCache();
const dir = mkdtempSync(join(tmpdir(), "tt-stmt-cache-"));
const clients: Client[] = [];
afterAll(() => {
  for (const c of clients) c.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(name: string): Client {
  const c = createClient({ url: `file:${join(dir, name)}` });
  clients.push(c);
  return c;
}

const stats = () => ({ ...(statementCacheStats() ?? { hits: 0, misses: 0, max: 0 }) });

describe("prepared-statement cache (embedded libSQL)", () => {
  test("the second execution of the same SQL reuses the statement", async () => {
    const c = open("hits.db");
    await c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    await c.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["a"] });
    const before = stats();
    await c.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["b"] });
    const rs = await c.execute({ sql: "SELECT id, v FROM t WHERE id >= ? ORDER BY id", args: [1] });
    const rs2 = await c.execute({ sql: "SELECT id, v FROM t WHERE id >= ? ORDER BY id", args: [2] });
    const after = stats();
    expect(after.hits - before.hits).toBe(2); // the INSERT and the second SELECT
    expect(after.misses - before.misses).toBe(1); // the first SELECT
    expect(rs.columns).toEqual(["id", "v"]);
    expect(rs.rows.map((r) => [r.id, r.v])).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
    expect(rs2.rows.map((r) => r.v)).toEqual(["b"]);
  });

  test("statements that return no rows keep reporting rowsAffected and lastInsertRowid", async () => {
    const c = open("writes.db");
    await c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    for (let i = 1; i <= 3; i++) {
      const rs = await c.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: [`v${i}`] });
      expect(rs.rowsAffected).toBe(1);
      expect(rs.lastInsertRowid).toBe(BigInt(i));
      expect(rs.rows).toEqual([]);
    }
    const upd = await c.execute({ sql: "UPDATE t SET v = ? WHERE id > ?", args: ["x", 1] });
    const upd2 = await c.execute({ sql: "UPDATE t SET v = ? WHERE id > ?", args: ["y", 0] });
    expect([upd.rowsAffected, upd2.rowsAffected]).toEqual([2, 3]);
  });

  test("a statement that failed (constraint) is reusable, and a failed batch rolls back", async () => {
    const c = open("errors.db");
    await c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
    const ins = (v: string) => c.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: [v] });
    await ins("a");
    await expect(ins("a")).rejects.toThrow(/UNIQUE/);
    await ins("b");
    await expect(
      c.batch([
        { sql: "INSERT INTO t (v) VALUES (?)", args: ["c"] },
        { sql: "INSERT INTO t (v) VALUES (?)", args: ["a"] },
      ]),
    ).rejects.toThrow(/UNIQUE/);
    const rs = await c.execute("SELECT v FROM t ORDER BY v");
    expect(rs.rows.map((r) => r.v)).toEqual(["a", "b"]);
  });

  test("a cached read sees another connection's later writes to the same file (no stale snapshot)", async () => {
    const path = `file:${join(dir, "shared.db")}`;
    const a = createClient({ url: path });
    const b = createClient({ url: path });
    clients.push(a, b);
    await a.execute("PRAGMA journal_mode = WAL");
    await a.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const count = async () => Number((await a.execute("SELECT count(*) AS n FROM t")).rows[0]?.n);
    expect(await count()).toBe(0);
    await b.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["1"] });
    expect(await count()).toBe(1);
    await b.execute({ sql: "INSERT INTO t (v) VALUES (?)", args: ["2"] });
    expect(await count()).toBe(2);
    // The WAL can be checkpointed completely: no cached statement holds a read transaction open.
    const ck = await a.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    expect(Number(ck.rows[0]?.[0])).toBe(0); // busy = 0
  });

  test("after a schema change on the connection, SELECT * returns the new columns", async () => {
    const c = open("ddl.db");
    await c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    await c.execute("INSERT INTO t (id) VALUES (1)");
    expect((await c.execute("SELECT * FROM t")).columns).toEqual(["id"]);
    await c.execute("ALTER TABLE t ADD COLUMN v TEXT DEFAULT 'd'");
    const rs = await c.execute("SELECT * FROM t");
    expect(rs.columns).toEqual(["id", "v"]);
    expect(rs.rows[0]?.v).toBe("d");
  });

  test("drizzle queries through the app's adapter hit the cache and return the same rows", async () => {
    const { db, client } = await openLibsql({ url: `file:${join(dir, "app.db")}` });
    clients.push(client);
    await client.execute(
      "CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, password_hash TEXT, email_verified_at INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER)",
    );
    await client.execute(
      "INSERT INTO users (id, email, name, created_at, updated_at) VALUES ('u1', 'a@example.com', 'A', 1, 1), ('u2', 'b@example.com', 'B', 1, 1)",
    );
    const find = (id: string) =>
      db.select({ id: users.id, email: users.email }).from(users).where(eq(users.id, id));
    const first = await find("u1");
    const before = stats();
    const second = await find("u2");
    const third = await find("u1");
    expect(stats().hits - before.hits).toBe(2);
    expect(first).toEqual([{ id: "u1", email: "a@example.com" }]);
    expect(second).toEqual([{ id: "u2", email: "b@example.com" }]);
    expect(third).toEqual(first);
  });
});
