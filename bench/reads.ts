/**
 * Read benchmark (issue 5, point 8): `GET /api/v1/members/stats` and `GET /api/v1/members/{id}/timeline`
 * on the 1,000 members × 30 days data set, cached and uncached, on the real server.
 *
 * Data: `teamtrack seed --orgs 1 --members 1000 --days 30` (heartbeats every 30 s in work hours,
 * ~21 M rows; the seed time is printed) into a DATA_DIR, unless `--data-dir DIR` points at one this
 * bench seeded before (it leaves bench-seed.json there), which saves the seeding on later runs.
 *
 * Latency is measured one request at a time (a sequential client; no queueing), as p50/p95/p99 of
 * SAMPLES requests per run:
 *   - stats, cached: the same page again and again, served from the 60 s stats cache;
 *   - stats, after a heartbeat: before each timed read, one heartbeat is ingested by an agent of
 *     the organization (not timed), which moves the cache's activity version: every read refreshes
 *     presence and today's activity of all 1,000 members (the statement's activity part);
 *   - stats, cold: before each timed read, a member records a 1-minute time entry (not timed),
 *     which invalidates everything: every read recomputes all 1,000
 *     members in the one stats query;
 *   - timeline, uncached: a different (member, weekday) pair for each request, in the member's time
 *     zone (the timeline has no server cache);
 *   - timeline, repeated: one member and day again and again (warm SQLite page cache).
 * The floor is the authenticated `GET /api/v1/me` on the same server in the same run (one indexed
 * session lookup plus two primary-key reads), so a ratio shows what each read adds over the cheapest
 * authenticated request.
 *
 * Responses are requested with `Accept-Encoding: gzip, deflate, br` like a browser; `--accept-encoding`
 * changes it (e.g. `gzip` or `identity`) to show what compression costs.
 *
 * Usage: bun bench/reads.ts [--data-dir DIR] [--members 1000] [--days 30] [--samples 200] [--runs 3]
 *        [--accept-encoding "gzip, deflate, br"] [--json]
 * Not part of `npm test`: `npm run bench:reads`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { spawnBun, startServer, stopAll, tempDir } from "../test/support/process";
import {
  argNum,
  argStr,
  BENCH_ALLOWLIST,
  hasFlag,
  medians,
  ms,
  postJson,
  quantile,
  ratioText,
  report,
  round,
  sortNum,
  UNLIMITED_RATE,
} from "./lib";

const MEMBERS = argNum("members", 1000);
const DAYS = argNum("days", 30);
const SAMPLES = argNum("samples", 200);
const RUNS = argNum("runs", 3);
const JSON_OUT = hasFlag("json");
/** What browsers (and Bun's fetch) send; `--accept-encoding gzip` or `identity` shows the compression's share. */
const ACCEPT_ENCODING = argStr("accept-encoding", "gzip, deflate, br");
const PASSWORD = "Quiet-Harbor-Reads-Bench-1";
const SEED = 3;
const log = (line: string) => {
  if (!JSON_OUT) console.log(line);
};

interface SeedInfo {
  password: string;
  seed: number;
  members: number;
  days: number;
  seededAt: string;
  seedSeconds: number;
  heartbeats: number;
}

/** Seeds a data dir (or reuses one this bench seeded) and returns where and what. */
async function dataSet(): Promise<{ dir: string; info: SeedInfo; reused: boolean }> {
  const given = argStr("data-dir");
  const dir = given ?? tempDir("tt-bench-reads-");
  const marker = join(dir, "bench-seed.json");
  if (given && existsSync(marker)) {
    const info = JSON.parse(readFileSync(marker, "utf8")) as SeedInfo;
    return { dir, info, reused: true };
  }
  log(`seeding ${MEMBERS} members × ${DAYS} days into ${dir} (this takes a while at full size)…`);
  const child = spawnBun(
    ["src/cli/index.ts", "seed", "--orgs", "1", "--members", String(MEMBERS), "--days", String(DAYS)].concat([
      "--seed",
      String(SEED),
      "--password",
      PASSWORD,
      "--json",
    ]),
    { NODE_ENV: "development", LOG_LEVEL: "warn", DATA_DIR: dir },
  );
  if ((await child.waitForExit(3_600_000)) !== 0)
    throw new Error(`seed failed:\n${child.stdout()}\n${child.stderr()}`);
  const out = JSON.parse(child.stdout()) as { seconds: number; counts: { heartbeats: number } };
  const info: SeedInfo = {
    password: PASSWORD,
    seed: SEED,
    members: MEMBERS,
    days: DAYS,
    seededAt: new Date().toISOString(),
    seedSeconds: out.seconds,
    heartbeats: out.counts.heartbeats,
  };
  writeFileSync(marker, JSON.stringify(info, null, 2));
  return { dir, info, reused: false };
}

interface Sample {
  p50: number;
  p95: number;
  p99: number;
}
function summarize(xs: number[]): Sample {
  const s = sortNum(xs);
  return { p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99) };
}

/** Times one GET (ms) and checks it answered 200; the body is read to the end. */
async function timedGet(url: string, headers: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { "accept-encoding": ACCEPT_ENCODING, ...headers } });
  await res.arrayBuffer();
  const took = performance.now() - t0;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return took;
}

interface RunResult extends Record<string, number> {
  meP50: number;
  meP95: number;
  statsCachedP50: number;
  statsCachedP95: number;
  statsCachedP99: number;
  statsUncachedP50: number;
  statsUncachedP95: number;
  statsUncachedP99: number;
  timelineP50: number;
  timelineP95: number;
  timelineP99: number;
  timelineRepeatP50: number;
  timelineRepeatP95: number;
  statsUncachedVsMe: number;
  statsColdP50: number;
  statsColdP95: number;
  statsColdP99: number;
}

const results: RunResult[] = [];
let seedLine = "";
try {
  const { dir, info, reused } = await dataSet();
  seedLine = reused
    ? `reused ${dir} (seeded ${info.seededAt}: ${info.members} members × ${info.days} days, ${info.heartbeats} heartbeats in ${round(info.seedSeconds)} s)`
    : `${info.members} members × ${info.days} days, ${info.heartbeats} heartbeats, seeded in ${round(info.seedSeconds)} s`;
  log(`data set: ${seedLine}`);

  const db = createClient({ url: `file:${join(dir, "teamtrack.db")}` });
  const members = (
    await db.execute(
      "SELECT m.id, m.timezone FROM memberships m JOIN organizations o ON o.id = m.org_id ORDER BY m.id",
    )
  ).rows.map((r) => ({ id: String(r.id), tz: String(r.timezone) }));
  db.close();
  const seededAt = new Date(info.seededAt);
  // Weekdays of the seeded range, excluding today (complete days).
  const dates: string[] = [];
  for (let k = 1; k < info.days; k++) {
    const d = new Date(seededAt.getTime() - k * 86_400_000);
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) dates.push(d.toISOString().slice(0, 10));
  }

  const server = await startServer({
    DATA_DIR: dir,
    LOG_LEVEL: "warn",
    RATE_LIMIT_ALLOWLIST: BENCH_ALLOWLIST,
    RATE_LIMIT_API: UNLIMITED_RATE,
    RATE_LIMIT_HEARTBEATS: UNLIMITED_RATE,
  });
  const base = server.url;
  const domain = `org1.seed-${info.seed}.example.com`;
  const signIn = async (email: string) => {
    const r = await postJson(`${base}/api/v1/auth/login`, { email, password: info.password });
    const token = (r.body as { accessToken?: string }).accessToken;
    if (!token) throw new Error(`login ${email}: ${r.status}`);
    return { authorization: `Bearer ${token}` };
  };
  // An agent of the organization, whose heartbeats invalidate the stats cache.
  const agent = await postJson(
    `${base}/api/v1/agents`,
    { name: `Reads bench ${Date.now()}` },
    await signIn(`member1@${domain}`),
  );
  const agentAuth = { authorization: `Bearer ${(agent.body as { token: string }).token}` };
  const memberAuth = await signIn(`member2@${domain}`);
  let entries = 0;
  /** A 1-minute time entry earlier today: a write that invalidates the whole stats cache. */
  const invalidateAll = async () => {
    entries++;
    const end = Date.now() - entries * 61_000;
    const r = await postJson(
      `${base}/api/v1/time-entries`,
      { start: new Date(end - 60_000).toISOString(), end: new Date(end).toISOString(), description: "bench" },
      memberAuth,
    );
    if (r.status !== 201) throw new Error(`time entry: ${r.status} ${JSON.stringify(r.body)}`);
  };
  let beat = 0;
  const invalidate = async () => {
    beat++;
    const r = await postJson(
      `${base}/api/v1/ingest/heartbeats`,
      {
        heartbeats: [
          {
            id: `reads-${Date.now()}-${beat}`,
            time: new Date().toISOString(),
            duration: 1,
            app: "Bench",
            idle: false,
          },
        ],
      },
      agentAuth,
    );
    if (r.status !== 200 || (r.body as { accepted: number }).accepted !== 1)
      throw new Error(`ingest: ${r.status}`);
  };

  for (let run = 0; run < RUNS; run++) {
    const admin = await signIn(`admin@${domain}`); // access tokens live 15 min: one per run
    const statsUrl = `${base}/api/v1/members/stats?limit=100`;
    // Warm-up: JIT, page cache, the organization's time zones.
    for (let i = 0; i < 5; i++) {
      await invalidate();
      await timedGet(statsUrl, admin);
      await timedGet(`${base}/api/v1/me`, admin);
    }
    const me: number[] = [];
    for (let i = 0; i < SAMPLES; i++) me.push(await timedGet(`${base}/api/v1/me`, admin));
    const cached: number[] = [];
    await timedGet(statsUrl, admin);
    for (let i = 0; i < SAMPLES; i++) cached.push(await timedGet(statsUrl, admin));
    const uncached: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      await invalidate();
      uncached.push(await timedGet(statsUrl, admin));
    }
    const cold: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      await invalidateAll();
      cold.push(await timedGet(statsUrl, admin));
    }
    const timeline: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const m = members[(i * 7919 + run * 104_729) % members.length]!;
      const date = dates[(i * 31 + run) % dates.length]!;
      timeline.push(await timedGet(`${base}/api/v1/members/${m.id}/timeline?date=${date}`, admin));
    }
    const repeat: number[] = [];
    const one = `${base}/api/v1/members/${members[1]!.id}/timeline?date=${dates[0]}`;
    for (let i = 0; i < SAMPLES; i++) repeat.push(await timedGet(one, admin));

    const [m, c, u, t, tr, k] = [me, cached, uncached, timeline, repeat, cold].map(summarize) as Sample[];
    const r: RunResult = {
      meP50: m!.p50,
      meP95: m!.p95,
      statsCachedP50: c!.p50,
      statsCachedP95: c!.p95,
      statsCachedP99: c!.p99,
      statsUncachedP50: u!.p50,
      statsUncachedP95: u!.p95,
      statsUncachedP99: u!.p99,
      timelineP50: t!.p50,
      timelineP95: t!.p95,
      timelineP99: t!.p99,
      timelineRepeatP50: tr!.p50,
      timelineRepeatP95: tr!.p95,
      statsUncachedVsMe: u!.p95 / m!.p95,
      statsColdP50: k!.p50,
      statsColdP95: k!.p95,
      statsColdP99: k!.p99,
    };
    results.push(r);
    log(
      `run ${run + 1}: stats p95 cached ${ms(r.statsCachedP95)}, after a heartbeat ${ms(r.statsUncachedP95)}, cold ${ms(r.statsColdP95)}; timeline p95 ${ms(r.timelineP95)} (repeated ${ms(r.timelineRepeatP95)}); /me p95 ${ms(r.meP95)}`,
    );
  }
  await server.stop();
} finally {
  await stopAll();
}

const med = medians(results);
report({ dataSet: seedLine, samples: SAMPLES, runs: RUNS, medians: med, results }, [
  ["data set", seedLine],
  [
    "method",
    `sequential client, ${SAMPLES} requests per measurement, ${RUNS} runs (medians), Accept-Encoding: ${ACCEPT_ENCODING}`,
  ],
  [
    "rate limits of the server",
    `RATE_LIMIT_API/HEARTBEATS=${UNLIMITED_RATE}, RATE_LIMIT_ALLOWLIST=${BENCH_ALLOWLIST}`,
  ],
  ["floor: GET /api/v1/me p50 / p95", `${ms(med.meP50)} / ${ms(med.meP95)}`],
  [
    "stats (100 of 1,000) cached p50 / p95 / p99",
    `${ms(med.statsCachedP50)} / ${ms(med.statsCachedP95)} / ${ms(med.statsCachedP99)} (target p95 < 3 ms)`,
  ],
  [
    "stats after a heartbeat (activity refresh) p50 / p95 / p99",
    `${ms(med.statsUncachedP50)} / ${ms(med.statsUncachedP95)} / ${ms(med.statsUncachedP99)} (target p95 < 25 ms)`,
  ],
  [
    "stats cold (after a time entry: all recomputed) p50 / p95 / p99",
    `${ms(med.statsColdP50)} / ${ms(med.statsColdP95)} / ${ms(med.statsColdP99)} (target p95 < 25 ms)`,
  ],
  ["stats after a heartbeat p95 ÷ /me p95", ratioText(med.statsUncachedVsMe, "informational")],
  [
    "timeline, other member/day each time p50 / p95 / p99",
    `${ms(med.timelineP50)} / ${ms(med.timelineP95)} / ${ms(med.timelineP99)} (target p95 < 25 ms; no server cache)`,
  ],
  [
    "timeline, same member/day repeated p50 / p95",
    `${ms(med.timelineRepeatP50)} / ${ms(med.timelineRepeatP95)}`,
  ],
]);
