/**
 * `teamtrack seed`: a realistic data set of a given size written straight into the database (not
 * through HTTP), for demos, benchmarks and query-plan tests.
 *
 * Identity rows, projects, tags, time entries and screenshot metadata go in as multi-row INSERTs in
 * one write batch per member. Heartbeats go through the activity module's own ingest write
 * (`writeIngest`: raw heartbeats, span rebuild, hourly rollup, presence, one atomic batch per member
 * and chunk of days), so seeded spans are exactly what live ingest would have built from them.
 */
import type { Client, InStatement } from "@libsql/client";
import type { Db } from "../db/client";
import { addDays, localDate, weekday } from "../lib/time";
import { writeIngest } from "../modules/activity/ingest.repo";
import type { PasswordHasher } from "../ports/passwords";
import { EXIT, type Io, withContext } from "./context";
import {
  ENTRY_COLUMNS,
  inserts,
  PROJECT_COLORS,
  PROJECT_NAMES,
  rngFor,
  SCREENSHOT_COLUMNS,
  type SeedHeartbeat,
  seedId,
  TAG_NAMES,
  TIME_ZONES,
  workDay,
} from "./seed-data";

export const seedHelp = `Usage: teamtrack seed --orgs N --members N --days N [options]

Writes a realistic data set straight into DATABASE_URL: per organization one admin, managers and
members (varied time zones) with one agent each, projects and tags, and for each member the last N
days (today included, weekdays only, up to now): heartbeats every --heartbeat-seconds during work
hours (about 09:00–17:30 local, with lunch, idle stretches and several apps, titles and URLs) with
the activity spans, hourly rollup and presence ingest derives from them, time entries (a timer still
running where a work block is under way), and screenshot metadata (no image files).

Every seeded user has the same password (--password, or a generated one that is printed), so you
can sign in as any of them; the admin of organization k is admin@org<k>.seed-<seed>.example.com.

Options:
  --orgs N                Organizations (default 1)
  --members N             Members per organization, admin included (default 10)
  --days N                Days of history per member, today included (default 7; 0: no activity)
  --seed S                Random seed (default 1); the same seed gives the same data
  --heartbeat-seconds S   Interval between heartbeats (default 30)
  --password P            Password of every seeded user (default: generated and printed)
  --json                  Print the summary as JSON
  -h, --help              Show this help`;

export interface SeedOptions {
  orgs: number;
  members: number;
  days: number;
  seed: number;
  heartbeatSeconds: number;
  password?: string;
}

export interface SeedCounts {
  organizations: number;
  users: number;
  memberships: number;
  agents: number;
  projects: number;
  tags: number;
  heartbeats: number;
  timeEntries: number;
  timeEntryTags: number;
  screenshots: number;
}

export interface SeedResult {
  counts: SeedCounts;
  /** Rows the ingest derived: activity_spans and activity_hours (counted after the run). */
  derived: { activitySpans: number; activityHours: number };
  seconds: number;
  admins: string[];
  orgIds: string[];
}

/** Checks the numbers a seed run needs; returns the error message or null. */
export function validateSeedOptions(o: SeedOptions): string | null {
  const checks: [boolean, string][] = [
    [Number.isInteger(o.orgs) && o.orgs >= 1 && o.orgs <= 1000, "--orgs must be an integer from 1 to 1000"],
    [
      Number.isInteger(o.members) && o.members >= 1 && o.members <= 100_000,
      "--members must be an integer from 1 to 100000",
    ],
    [Number.isInteger(o.days) && o.days >= 0 && o.days <= 366, "--days must be an integer from 0 to 366"],
    [Number.isInteger(o.seed) && o.seed >= 0 && o.seed <= 2 ** 31, "--seed must be a non-negative integer"],
    [
      Number.isInteger(o.heartbeatSeconds) && o.heartbeatSeconds >= 5 && o.heartbeatSeconds <= 3600,
      "--heartbeat-seconds must be an integer from 5 to 3600",
    ],
    [o.password === undefined || o.password.length >= 8, "--password must be at least 8 characters"],
  ];
  return checks.find(([ok]) => !ok)?.[1] ?? null;
}

const ROLE_OF = (i: number, members: number) =>
  i === 0 ? "admin" : i <= Math.floor(members / 20) + 1 ? "manager" : "member";

/** Writes the data set; `progress` gets a line now and then (stderr in the CLI). */
export async function seedDatabase(
  db: Db,
  passwords: PasswordHasher,
  o: SeedOptions & { password: string; now: Date },
  progress: (line: string) => void = () => {},
): Promise<SeedResult> {
  const started = performance.now();
  const client = (db as unknown as { $client: Client }).$client;
  const now = o.now.getTime();
  const passwordHash = await passwords.hash(o.password);
  const counts: SeedCounts = {
    organizations: 0,
    users: 0,
    memberships: 0,
    agents: 0,
    projects: 0,
    tags: 0,
    heartbeats: 0,
    timeEntries: 0,
    timeEntryTags: 0,
    screenshots: 0,
  };
  const admins: string[] = [];
  const orgIds: string[] = [];
  const domainOf = (org: number) => `org${org + 1}.seed-${o.seed}.example.com`;

  const taken = await client.execute({
    sql: "SELECT 1 FROM users WHERE email = ? LIMIT 1",
    args: [`admin@${domainOf(0)}`],
  });
  if (taken.rows.length)
    throw new SeedError(`this database already holds seed ${o.seed}; use another --seed or a fresh database`);

  const total = o.orgs * o.members;
  let done = 0;
  let lastReport = performance.now();
  for (let org = 0; org < o.orgs; org++) {
    const rng = rngFor(o.seed, 1_000_000 + org);
    const orgId = seedId("org", now, rng);
    const orgTz = TIME_ZONES[org % TIME_ZONES.length]!;
    orgIds.push(orgId);
    const projectIds = PROJECT_NAMES.map(() => seedId("prj", now, rng));
    const projectBillable = PROJECT_NAMES.map((_, i) => i % 3 !== 2);
    const tagIds = TAG_NAMES.map(() => seedId("tag", now, rng));
    const setup: InStatement[] = [
      {
        sql: "INSERT INTO organizations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
        args: [orgId, `Seed Org ${org + 1}`, now, now],
      },
      {
        sql: "INSERT INTO org_settings (org_id, timezone, updated_at) VALUES (?, ?, ?)",
        args: [orgId, orgTz, now],
      },
      ...inserts(
        "projects",
        ["id", "org_id", "name", "color", "billable", "client_name", "created_at", "updated_at"],
        PROJECT_NAMES.map((name, i) => [
          projectIds[i],
          orgId,
          name,
          PROJECT_COLORS[i % PROJECT_COLORS.length],
          projectBillable[i] ? 1 : 0,
          i % 2 ? "Acme Corp" : null,
          now,
          now,
        ]),
      ),
      ...inserts(
        "tags",
        ["id", "org_id", "name", "created_at", "updated_at"],
        TAG_NAMES.map((name, i) => [tagIds[i], orgId, name, now, now]),
      ),
    ];
    await client.batch(setup, "write");
    counts.organizations++;
    counts.projects += projectIds.length;
    counts.tags += tagIds.length;
    admins.push(`admin@${domainOf(org)}`);

    for (let i = 0; i < o.members; i++) {
      const mrng = rngFor(o.seed, org, i);
      const userId = seedId("usr", now, mrng);
      const memberId = seedId("mem", now, mrng);
      const agentId = seedId("tok", now, mrng);
      const tz = i === 0 || mrng.chance(0.6) ? orgTz : mrng.pick(TIME_ZONES);
      const email = i === 0 ? `admin@${domainOf(org)}` : `member${i}@${domainOf(org)}`;
      const stmts: InStatement[] = [
        {
          sql: `INSERT INTO users (id, email, name, password_hash, email_verified_at, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)`,
          args: [userId, email, i === 0 ? "Seed Admin" : `Seed Member ${i}`, passwordHash, now, now, now],
        },
        {
          sql: `INSERT INTO memberships (id, org_id, user_id, role, display_name, timezone, status, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, 'offline', ?, ?)`,
          args: [
            memberId,
            orgId,
            userId,
            ROLE_OF(i, o.members),
            mrng.chance(0.3) ? `M${i}` : null,
            tz,
            now,
            now,
          ],
        },
        {
          sql: `INSERT INTO api_tokens (id, kind, user_id, org_id, name, scopes, token_hash, prefix, created_at)
            VALUES (?, 'agent', ?, ?, 'Seed laptop', '["ingest"]', ?, ?, ?)`,
          // A hash of nothing anyone holds: the seeded agents exist but cannot be used.
          args: [agentId, userId, orgId, mrng.hex(32), `tta_${mrng.hex(4)}`, now],
        },
      ];
      counts.users++;
      counts.memberships++;
      counts.agents++;

      const today = localDate(o.now, tz);
      const heartbeats: SeedHeartbeat[] = [];
      const entryRows: unknown[][] = [];
      const entryTagRows: unknown[][] = [];
      const shotRows: unknown[][] = [];
      for (let k = 0; k < o.days; k++) {
        const date = addDays(today, k - o.days + 1);
        const wd = weekday(date);
        if (wd === 0 || wd === 6) continue;
        const day = workDay({
          seed: o.seed,
          memberIndex: org * o.members + i,
          dayIndex: k,
          date,
          tz,
          now,
          heartbeatSeconds: o.heartbeatSeconds,
          profile: i % 3,
          projectCount: projectIds.length,
          tagCount: tagIds.length,
          clientPrefix: `seed${o.seed}`,
        });
        for (const h of day.heartbeats) heartbeats.push(h);
        for (const e of day.entries) {
          const id = seedId("te", e.startAt, mrng);
          entryRows.push([
            id,
            orgId,
            memberId,
            projectIds[e.projectIndex],
            e.description,
            projectBillable[e.projectIndex] ? 1 : 0,
            e.startAt,
            e.endAt,
            "timer",
            userId,
            e.startAt,
            e.endAt ?? e.startAt,
          ]);
          for (const t of e.tagIndexes) entryTagRows.push([id, tagIds[t]]);
        }
        for (const s of day.screenshots) {
          const stem = `${orgId}/screenshots/seed-${mrng.hex(12)}`;
          const size = mrng.int(120_000, 420_000);
          shotRows.push([
            seedId("scr", s.takenAt, mrng),
            orgId,
            memberId,
            agentId,
            s.takenAt,
            s.app,
            s.title,
            size,
            1920,
            1080,
            mrng.hex(32),
            "png",
            size * 3,
            mrng.hex(32),
            `${stem}.jpg`,
            `${stem}_m.jpg`,
            `${stem}_s.jpg`,
            s.takenAt,
          ]);
        }
      }
      stmts.push(
        ...inserts("time_entries", ENTRY_COLUMNS, entryRows),
        ...inserts("time_entry_tags", ["entry_id", "tag_id"], entryTagRows),
        ...inserts("screenshots", SCREENSHOT_COLUMNS, shotRows),
      );
      await client.batch(stmts, "write");
      counts.timeEntries += entryRows.length;
      counts.timeEntryTags += entryTagRows.length;
      counts.screenshots += shotRows.length;

      if (heartbeats.length) {
        await writeIngest(db, {
          orgId,
          memberId,
          now,
          pulsetimeMs: 60_000,
          idleThresholdMs: 300_000,
          heartbeats,
        });
        counts.heartbeats += heartbeats.length;
      }
      done++;
      if (performance.now() - lastReport > 5_000) {
        lastReport = performance.now();
        progress(
          `seeded ${done}/${total} members, ${counts.heartbeats} heartbeats (${Math.round((performance.now() - started) / 1000)} s)`,
        );
      }
    }
  }
  const count = async (table: string) => {
    const r = await client.execute({
      sql: `SELECT count(*) AS n FROM ${table} WHERE org_id IN (SELECT value FROM json_each(?))`,
      args: [JSON.stringify(orgIds)],
    });
    return Number(r.rows[0]!.n);
  };
  const derived = {
    activitySpans: await count("activity_spans"),
    activityHours: await count("activity_hours"),
  };
  return { counts, derived, seconds: (performance.now() - started) / 1000, admins, orgIds };
}

/** A refusal the operator can fix (exit 1 with the message, no stack). */
export class SeedError extends Error {}

function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `Seed-${[...bytes].map((b) => b.toString(36).padStart(2, "0")).join("")}`;
}

export async function seedCommand(opts: SeedOptions & { json: boolean }, io: Io): Promise<number> {
  // Seeding's statements are large by design; logging each as a slow query would drown the output.
  process.env.SLOW_QUERY_MS ??= "600000";
  const password = opts.password ?? randomPassword();
  return withContext({}, async ({ platform }) => {
    let result: SeedResult;
    try {
      result = await seedDatabase(
        platform.db,
        platform.passwords,
        { ...opts, password, now: platform.clock.now() },
        (l) => io.err(l),
      );
    } catch (err) {
      if (!(err instanceof SeedError)) throw err;
      io.err(`teamtrack seed: ${err.message}`);
      return EXIT.failed;
    }
    const { counts, derived, seconds } = result;
    if (opts.json) {
      io.out(JSON.stringify({ ...opts, password, seconds, counts, derived, admins: result.admins }, null, 2));
      return EXIT.ok;
    }
    const rows: [string, number][] = [...Object.entries(counts), ...Object.entries(derived)];
    const w = Math.max(...rows.map(([k]) => k.length));
    io.out(
      `Seeded ${opts.orgs} organization(s) × ${opts.members} member(s) × ${opts.days} day(s) in ${seconds.toFixed(1)} s`,
    );
    for (const [k, n] of rows) io.out(`  ${k.padEnd(w)}  ${n}`);
    io.out(`  heartbeats/s written  ${Math.round(counts.heartbeats / seconds)}`);
    io.out(`Sign in as ${result.admins[0]} (or any seeded user) with password ${password}`);
    return EXIT.ok;
  });
}
