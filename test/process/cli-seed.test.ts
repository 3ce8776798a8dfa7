/**
 * `teamtrack seed` through the real CLI (`bun src/cli/index.ts seed …`) against a database file:
 * row counts, the shape of the data (work hours in each member's time zone, heartbeat spacing, spans
 * derived by the ingest code, at most one running timer per member), a refused re-run with the same
 * seed, usage errors, and a sign-in as the seeded admin on the real server.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { TZDate } from "@date-fns/tz";
import { createClient } from "@libsql/client";
import { spawnBun, startServer, stopAll, tempDir } from "../support/process";

afterAll(stopAll);

const PASSWORD = "Quiet-Harbor-Seed-Test-1";

async function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const child = spawnBun(["src/cli/index.ts", ...args], {
    NODE_ENV: "development",
    LOG_LEVEL: "warn",
    ...env,
  });
  const code = await child.waitForExit(60_000);
  if (code === null) await child.kill();
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

describe("teamtrack seed", () => {
  const dataDir = tempDir("tt-seed-");
  const db = () => createClient({ url: `file:${join(dataDir, "teamtrack.db")}` });
  const count = async (sql: string) => {
    const c = db();
    try {
      return Number((await c.execute(sql)).rows[0]![0]);
    } finally {
      c.close();
    }
  };
  let summary: {
    seconds: number;
    counts: Record<string, number>;
    derived: Record<string, number>;
    admins: string[];
  };

  test("writes the requested organizations, members, agents, catalog and a week of activity", async () => {
    const args = ["seed", "--orgs", "2", "--members", "3", "--days", "7", "--seed", "4"];
    const r = await cli([...args, "--heartbeat-seconds", "120", "--password", PASSWORD, "--json"], {
      DATA_DIR: dataDir,
    });
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    summary = JSON.parse(r.stdout);
    expect(summary.seconds).toBeGreaterThan(0);
    expect(summary.admins).toEqual(["admin@org1.seed-4.example.com", "admin@org2.seed-4.example.com"]);

    // What the summary says is what the database holds.
    expect(await count("SELECT count(*) FROM organizations")).toBe(2);
    expect(await count("SELECT count(*) FROM org_settings")).toBe(2);
    expect(await count("SELECT count(*) FROM users")).toBe(6);
    expect(await count("SELECT count(*) FROM memberships")).toBe(6);
    expect(await count("SELECT count(*) FROM memberships WHERE role = 'admin'")).toBe(2);
    expect(await count("SELECT count(*) FROM api_tokens WHERE kind = 'agent'")).toBe(6);
    expect(await count("SELECT count(*) FROM projects")).toBe(16);
    expect(await count("SELECT count(*) FROM tags")).toBe(12);
    const c = summary.counts;
    expect(c).toMatchObject({
      organizations: 2,
      users: 6,
      memberships: 6,
      agents: 6,
      projects: 16,
      tags: 12,
    });
    expect(await count("SELECT count(*) FROM heartbeats")).toBe(c.heartbeats!);
    expect(await count("SELECT count(*) FROM time_entries")).toBe(c.timeEntries!);
    expect(await count("SELECT count(*) FROM time_entry_tags")).toBe(c.timeEntryTags!);
    expect(await count("SELECT count(*) FROM screenshots")).toBe(c.screenshots!);
    expect(await count("SELECT count(*) FROM activity_spans")).toBe(summary.derived.activitySpans!);
    expect(await count("SELECT count(*) FROM activity_hours")).toBe(summary.derived.activityHours!);

    // Seven days hold at least four complete weekdays: ~8 h at one heartbeat per 2 min, per member.
    expect(c.heartbeats!).toBeGreaterThan(6 * 4 * 200);
    expect(c.timeEntries!).toBeGreaterThanOrEqual(6 * 4 * 2);
    expect(c.screenshots!).toBeGreaterThan(6 * 4 * 20);
  });

  test("heartbeats fall in work hours of each member's time zone, 120 s apart, with idle stretches", async () => {
    const conn = db();
    try {
      const rows = (
        await conn.execute(
          "SELECT h.time, h.duration_ms, h.idle, m.timezone FROM heartbeats h JOIN memberships m ON m.id = h.member_id",
        )
      ).rows;
      const zones = new Set<string>();
      for (const r of rows) {
        const local = new TZDate(Number(r.time), String(r.timezone));
        const minutes = local.getHours() * 60 + local.getMinutes();
        expect(minutes).toBeGreaterThanOrEqual(8 * 60 + 30);
        expect(minutes).toBeLessThan(18 * 60 + 15);
        expect([1, 2, 3, 4, 5]).toContain(local.getDay());
        expect(Number(r.duration_ms)).toBe(120_000);
        zones.add(String(r.timezone));
      }
      const idle = rows.filter((r) => Number(r.idle) === 1).length;
      expect(idle).toBeGreaterThan(0);
      expect(idle).toBeLessThan(rows.length / 2);
      // Consecutive heartbeats of a member on a day are exactly the interval apart.
      const gaps = await conn.execute(`SELECT DISTINCT next - time AS gap FROM (
          SELECT time, LEAD(time) OVER (PARTITION BY member_id ORDER BY time) AS next FROM heartbeats)
        WHERE next IS NOT NULL AND next - time < 3600000`);
      expect(gaps.rows.map((g) => Number(g.gap))).toEqual([120_000]);
      // Several apps, and URLs with their domains for browsers.
      expect(await count("SELECT count(DISTINCT app) FROM heartbeats")).toBeGreaterThanOrEqual(4);
      expect(await count("SELECT count(*) FROM heartbeats WHERE url IS NOT NULL AND domain IS NULL")).toBe(0);
      // Spans come from the ingest's rebuild: they cover every heartbeat's member and never overlap.
      expect(await count("SELECT count(DISTINCT member_id) FROM activity_spans")).toBe(
        await count("SELECT count(DISTINCT member_id) FROM heartbeats"),
      );
      expect(
        await count(`SELECT count(*) FROM (SELECT end_at, LEAD(start_at) OVER (PARTITION BY member_id ORDER BY start_at) AS ns
          FROM activity_spans) WHERE ns < end_at`),
      ).toBe(0);
      expect(await count("SELECT count(*) FROM member_presence")).toBe(
        await count("SELECT count(DISTINCT member_id) FROM heartbeats"),
      );
      // At most one running timer per member; entries end after they start.
      expect(
        await count(
          "SELECT count(*) FROM (SELECT member_id FROM time_entries WHERE end_at IS NULL GROUP BY member_id HAVING count(*) > 1)",
        ),
      ).toBe(0);
      expect(await count("SELECT count(*) FROM time_entries WHERE end_at <= start_at")).toBe(0);
      expect(zones.size).toBeGreaterThanOrEqual(1);
    } finally {
      conn.close();
    }
  });

  test("the same seed again is refused (exit 1, nothing written); another seed adds a data set", async () => {
    const before = await count("SELECT count(*) FROM heartbeats");
    const again = await cli(["seed", "--orgs", "1", "--members", "2", "--days", "1", "--seed", "4"], {
      DATA_DIR: dataDir,
    });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already holds seed 4");
    expect(await count("SELECT count(*) FROM heartbeats")).toBe(before);
    expect(await count("SELECT count(*) FROM users")).toBe(6);

    const other = await cli(["seed", "--orgs", "1", "--members", "2", "--days", "0", "--seed", "5"], {
      DATA_DIR: dataDir,
    });
    expect(other.code).toBe(0);
    expect(other.stdout).toContain("Seeded 1 organization(s) × 2 member(s) × 0 day(s)");
    // Without --password one is generated and printed, since nobody could sign in otherwise.
    expect(other.stdout).toMatch(/with password Seed-[0-9a-z]+/);
    expect(await count("SELECT count(*) FROM users")).toBe(8);
    expect(await count("SELECT count(*) FROM heartbeats")).toBe(before);
  });

  test("bad numbers and unknown options are usage errors (exit 2)", async () => {
    for (const args of [
      ["seed", "--members", "0"],
      ["seed", "--days", "-1"],
      ["seed", "--orgs", "two"],
      ["seed", "--heartbeat-seconds", "1"],
      ["seed", "--password", "short"],
      ["seed", "--bogus"],
      ["seed", "extra"],
    ]) {
      const r = await cli(args, { DATA_DIR: dataDir });
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain("Usage: teamtrack seed");
    }
    const help = await cli(["help", "seed"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--heartbeat-seconds");
  }, 30_000); // eight CLI processes one after another: ~0.8 s each on a busy 2-core machine

  test("the seeded admin signs in on the real server with the given password", async () => {
    const server = await startServer({ DATA_DIR: dataDir, LOG_LEVEL: "warn" });
    const res = await fetch(`${server.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: summary.admins[1], password: PASSWORD }),
    });
    expect(res.status).toBe(200);
    const { accessToken } = (await res.json()) as { accessToken: string };
    const me = await fetch(`${server.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { role: string }).role).toBe("admin");
    await server.stop();
  });
});
