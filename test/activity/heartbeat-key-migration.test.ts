/**
 * Migration 0006 (the heartbeat key): a database holding heartbeats under the key of 0005
 * (`(member_id, client_id)` unique) upgrades in place — every row kept, one unique index on
 * `(member_id, time, client_id)` left — and the new key then behaves as ingest relies on: the same
 * heartbeat again is ignored, the same id at another time is stored.
 */
import { describe, expect, test } from "bun:test";
import { databaseBefore } from "../support/migrations";

const T0 = Date.UTC(2026, 2, 2, 9);
const INSERT = `INSERT INTO heartbeats (org_id, member_id, client_id, time, duration_ms, app, idle, received_at)
  VALUES ('org_m', 'mem_m', ?, ?, 1000, 'Code', 0, ?)`;

describe("migration 0006: heartbeat key", () => {
  test("stored heartbeats survive; (member_id, time, client_id) becomes the one unique key", async () => {
    const { client, migrateRest } = await databaseBefore("0006_heartbeat_key");
    const now = T0;
    await client.batch(
      [
        {
          sql: "INSERT INTO organizations (id, name, created_at, updated_at) VALUES ('org_m', 'M', ?, ?)",
          args: [now, now],
        },
        {
          sql: `INSERT INTO users (id, email, name, password_hash, created_at, updated_at)
            VALUES ('usr_m', 'm@example.com', 'M', 'x', ?, ?)`,
          args: [now, now],
        },
        {
          sql: `INSERT INTO memberships (id, org_id, user_id, role, created_at, updated_at)
            VALUES ('mem_m', 'org_m', 'usr_m', 'member', ?, ?)`,
          args: [now, now],
        },
        ...["a", "b", "c"].map((id, i) => ({ sql: INSERT, args: [id, T0 + i * 1000, now] })),
      ],
      "write",
    );
    // Under 0005 the id alone was the key: the same id at another time conflicts.
    await expect(client.execute({ sql: INSERT, args: ["a", T0 + 5000, now] })).rejects.toThrow(/UNIQUE/);

    const { applied } = await migrateRest();
    expect(applied).toContain("0006_heartbeat_key");

    const rows = await client.execute("SELECT client_id, time FROM heartbeats ORDER BY time");
    expect(rows.rows.map((r) => [r.client_id, r.time])).toEqual([
      ["a", T0],
      ["b", T0 + 1000],
      ["c", T0 + 2000],
    ]);
    const indexes = await client.execute(
      "SELECT name, \"unique\" AS uq FROM pragma_index_list('heartbeats') WHERE origin = 'c' ORDER BY name",
    );
    expect(indexes.rows.map((r) => [r.name, Number(r.uq)])).toEqual([["heartbeats_member_time_uq", 1]]);
    const columns = await client.execute("SELECT name FROM pragma_index_info('heartbeats_member_time_uq')");
    expect(columns.rows.map((r) => r.name)).toEqual(["member_id", "time", "client_id"]);

    const conflictFree = `${INSERT} ON CONFLICT (member_id, time, client_id) DO NOTHING`;
    expect((await client.execute({ sql: conflictFree, args: ["a", T0, now] })).rowsAffected).toBe(0);
    expect((await client.execute({ sql: conflictFree, args: ["a", T0 + 5000, now] })).rowsAffected).toBe(1);
    client.close();
  });
});
