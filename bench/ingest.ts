/**
 * Heartbeat ingest benchmark (issue 5, point 8): 64 concurrent agents posting batches of 1 and of 50
 * heartbeats to the real server, against a floor measured in the same run.
 *
 * Setup (once): `teamtrack seed --orgs 1 --members 64 --days 0` into a template DATA_DIR, then the
 * real server on it: each of the 64 members signs in and enrolls an agent (`POST /api/v1/agents`),
 * giving 64 agent tokens. Each measurement then runs on a fresh copy of that template, so every run
 * starts from the same database.
 *
 * Load: wrk -t2 -c64; each request is one agent's next batch (round-robin over the agents, so about
 * one request per agent in flight), with a unique client id per heartbeat and times advancing one
 * second per heartbeat per agent (the app switches every 20 heartbeats, so spans are built and
 * extended as in real use). Persisted heartbeats/s counts the rows in `heartbeats` after the run
 * (not 2xx responses) over wrk's measured duration; p50/p99 are wrk's request latencies.
 *
 * Paced: the same batches of 50, each agent sending its next one a random 0.5–1.5 × `--pace-ms`
 * (default 100) after the answer to its previous one, as agents do (they post on their own timers, not
 * back to back and not in step; a fixed pause kept the 64 agents in lockstep behind each group commit):
 * at most 64 × 1000 / pace batches/s offered, about half of what the floor sustains on these machines,
 * so p50/p99 show the latency of an ingest that is not queued behind 63 others, next to the saturated figures.
 *
 * Floor: bench/floor-ingest.ts, a bare Bun.serve inserting the same rows with raw @libsql/client on a
 * file database with the server's pragmas and schema, same wrk load and bodies.
 *
 * The server runs with RATE_LIMIT_HEARTBEATS and RATE_LIMIT_API out of reach and loopback in
 * RATE_LIMIT_ALLOWLIST (said in the output): the default 60 batches/min per agent would otherwise
 * answer 429 after a second.
 *
 * Usage: bun bench/ingest.ts [--seconds 10] [--runs 3] [--pace-ms 100] [--json]
 * Not part of `npm test`: `npm run bench:ingest`.
 */
import { cpSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { type ServerProcess, spawnBun, startServer, stopAll, tempDir } from "../test/support/process";
import {
  argNum,
  BENCH_ALLOWLIST,
  hasFlag,
  LUA_ISO,
  medians,
  ms,
  postJson,
  ratioText,
  report,
  round,
  runWrk,
  startFloor,
  UNLIMITED_RATE,
} from "./lib";

const SECONDS = argNum("seconds", 10);
const RUNS = argNum("runs", 3);
const PACE_MS = argNum("pace-ms", 100);
const JSON_OUT = hasFlag("json");
const AGENTS = 64;
const THREADS = 2;
const WARMUP_SECONDS = 2;
const DAY_S = 86_400;
const SEED = 7;
const PASSWORD = "Quiet-Harbor-Ingest-Bench-1";
const SERVER_ENV = {
  LOG_LEVEL: "warn",
  RATE_LIMIT_ALLOWLIST: BENCH_ALLOWLIST,
  RATE_LIMIT_API: UNLIMITED_RATE,
  RATE_LIMIT_HEARTBEATS: UNLIMITED_RATE,
};
const log = (line: string) => {
  if (!JSON_OUT) console.log(line);
};

/** Seeds 64 members and enrolls one agent each through the API; returns the template dir and tokens. */
async function prepareTemplate(): Promise<{ dir: string; tokens: string[] }> {
  const dir = tempDir("tt-bench-ingest-");
  const seed = spawnBun(
    ["src/cli/index.ts", "seed", "--orgs", "1", "--members", String(AGENTS), "--days", "0"].concat([
      "--seed",
      String(SEED),
      "--password",
      PASSWORD,
    ]),
    { NODE_ENV: "development", LOG_LEVEL: "warn", DATA_DIR: dir },
  );
  if ((await seed.waitForExit(120_000)) !== 0)
    throw new Error(`seed failed:\n${seed.stdout()}\n${seed.stderr()}`);
  const server = await startServer({ ...SERVER_ENV, DATA_DIR: dir });
  try {
    const domain = `org1.seed-${SEED}.example.com`;
    const emails = Array.from({ length: AGENTS }, (_, i) =>
      i === 0 ? `admin@${domain}` : `member${i}@${domain}`,
    );
    const tokens: string[] = [];
    // Eight sign-ins at a time: argon2id is the cost here, and this is setup, not measurement.
    for (let i = 0; i < emails.length; i += 8) {
      const got = await Promise.all(
        emails.slice(i, i + 8).map(async (email) => {
          const login = await postJson(`${server.url}/api/v1/auth/login`, { email, password: PASSWORD });
          const access = (login.body as { accessToken?: string }).accessToken;
          if (!access) throw new Error(`login ${email}: ${login.status} ${JSON.stringify(login.body)}`);
          const agent = await postJson(
            `${server.url}/api/v1/agents`,
            { name: "Bench agent" },
            { authorization: `Bearer ${access}` },
          );
          const token = (agent.body as { token?: string }).token;
          if (agent.status !== 201 || !token) throw new Error(`agent ${email}: ${agent.status}`);
          return token;
        }),
      );
      tokens.push(...got);
    }
    return { dir, tokens };
  } finally {
    await server.stop();
  }
}

/** Lua: each thread takes every THREADS-th token and sends that agent's next `batch` heartbeats. */
function ingestLua(
  tokens: string[],
  batch: number,
  baseSeconds: number,
  runId: string,
  paceMs: number,
): string {
  return `${LUA_ISO}
local tokens = { ${tokens.map((t) => `"${t}"`).join(", ")} }
local batch = ${batch}
local base = ${baseSeconds}
local apps = {
  { "Code", "ingest.repo.ts — teamtrack", "null" },
  { "Firefox", "Pull requests · teamtrack", '"https://github.com/teamtrack/teamtrack/pulls"' },
  { "Slack", "#engineering — Acme", "null" },
}
local mine, n, cur = {}, {}, 0
function init(args)
  math.randomseed(${SEED} + tid)
  for i = 1, #tokens do
    if (i - 1) % ${THREADS} == tid then
      mine[#mine + 1] = "Bearer " .. tokens[i]
      n[#mine] = 0
    end
  end
end
function request()
  cur = cur % #mine + 1
  local k = n[cur]
  local parts = {}
  for j = 1, batch do
    k = k + 1
    local a = apps[math.floor(k / 20) % #apps + 1]
    parts[j] = string.format('{"id":"${runId}-%d-%d-%d","time":"%s","duration":1,"app":"%s","title":"%s","url":%s,"idle":false,"keyboard":%d,"mouse":%d}',
      tid, cur, k, iso(base + k), a[1], a[2], a[3], k % 17, k % 23)
  end
  n[cur] = k
  return wrk.format("POST", "/api/v1/ingest/heartbeats",
    { ["Authorization"] = mine[cur], ["Content-Type"] = "application/json" },
    '{"heartbeats":[' .. table.concat(parts, ",") .. ']}')
end
${paceMs > 0 ? `function delay() return math.random(${Math.round(paceMs / 2)}, ${Math.round((paceMs * 3) / 2)}) end` : ""}
`;
}

async function countRows(dbFile: string): Promise<number> {
  const c = createClient({ url: `file:${dbFile}` });
  try {
    return Number((await c.execute("SELECT count(*) AS n FROM heartbeats")).rows[0]!.n);
  } finally {
    c.close();
  }
}

interface Measured {
  hbPerSec: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  non2xx: number;
}

/** Warm-up, then the measured wrk run; persisted rows counted from the database file. */
async function measure(
  url: string,
  dbFile: string,
  tokens: string[],
  batch: number,
  tag: string,
  paceMs: number,
): Promise<Measured> {
  const now = Math.floor(Date.now() / 1000);
  const lua = (base: number, id: string) => ingestLua(tokens, batch, base, id, paceMs);
  // Warm-up and measurement use separate time windows and client ids (each wrk run restarts the
  // counters). Each agent's clock advances a second per heartbeat, so a window must start at least
  // (heartbeats an agent sends in the run) seconds back: a run reaching the server's clock is answered
  // 422 (times ahead of it) — with windows of 3 h, batches of 50 at 120k hb/s got there within 6 s.
  // Two days each: 172,800 heartbeats per agent, 11 M in all.
  await runWrk({
    url,
    seconds: WARMUP_SECONDS,
    connections: AGENTS,
    threads: THREADS,
    lua: lua(now - 4 * DAY_S, `${tag}w`),
  });
  await Bun.sleep(200);
  const before = await countRows(dbFile);
  const r = await runWrk({
    url,
    seconds: SECONDS,
    connections: AGENTS,
    threads: THREADS,
    lua: lua(now - 2 * DAY_S, `${tag}m`),
  });
  await Bun.sleep(200);
  // An error answer is fast and stores nothing: a run with any would report a latency and a
  // throughput that are not the ingest's.
  if (r.non2xx > 0) throw new Error(`${tag}: ${r.non2xx} of ${r.requests} responses were not 2xx`);
  return {
    hbPerSec: ((await countRows(dbFile)) - before) / r.seconds,
    reqPerSec: r.requestsPerSec,
    p50: r.p50,
    p99: r.p99,
    non2xx: r.non2xx,
  };
}

async function serverRun(
  templateDir: string,
  tokens: string[],
  batch: number,
  tag: string,
  paceMs = 0,
): Promise<Measured> {
  const dir = tempDir("tt-bench-ingest-run-");
  cpSync(templateDir, dir, { recursive: true });
  const server: ServerProcess = await startServer({ ...SERVER_ENV, DATA_DIR: dir });
  try {
    return await measure(
      `${server.url}/api/v1/ingest/heartbeats`,
      join(dir, "teamtrack.db"),
      tokens,
      batch,
      tag,
      paceMs,
    );
  } finally {
    await server.stop();
  }
}

async function floorRun(batch: number, tag: string, paceMs = 0): Promise<Measured> {
  const dbFile = join(tempDir("tt-bench-floor-"), "floor.db");
  const floor = await startFloor("floor-ingest.ts", { DB_PATH: dbFile, AGENTS: String(AGENTS) });
  try {
    const tokens = Array.from({ length: AGENTS }, (_, i) => `floor-agent-${i}`);
    return await measure(`${floor.url}/api/v1/ingest/heartbeats`, dbFile, tokens, batch, tag, paceMs);
  } finally {
    await floor.stop();
  }
}

interface RunResult extends Record<string, number> {
  singleHbPerSec: number;
  singleP50: number;
  singleP99: number;
  singleFloorHbPerSec: number;
  singleRatio: number;
  singleNon2xx: number;
  batchHbPerSec: number;
  batchP50: number;
  batchP99: number;
  batchFloorHbPerSec: number;
  batchRatio: number;
  batchNon2xx: number;
  floorSingleP99: number;
  floorBatchP99: number;
  pacedHbPerSec: number;
  pacedP50: number;
  pacedP99: number;
  pacedFloorP50: number;
  pacedFloorP99: number;
  pacedNon2xx: number;
}

const results: RunResult[] = [];
try {
  log(`setup: seeding ${AGENTS} members and enrolling ${AGENTS} agents through the API…`);
  const { dir, tokens } = await prepareTemplate();
  for (let i = 0; i < RUNS; i++) {
    const s = await serverRun(dir, tokens, 1, `s${i}`);
    const sf = await floorRun(1, `fs${i}`);
    const b = await serverRun(dir, tokens, 50, `b${i}`);
    const bf = await floorRun(50, `fb${i}`);
    const p = await serverRun(dir, tokens, 50, `p${i}`, PACE_MS);
    const pf = await floorRun(50, `fp${i}`, PACE_MS);
    const r: RunResult = {
      singleHbPerSec: s.hbPerSec,
      singleP50: s.p50,
      singleP99: s.p99,
      singleFloorHbPerSec: sf.hbPerSec,
      singleRatio: s.hbPerSec / sf.hbPerSec,
      singleNon2xx: s.non2xx,
      batchHbPerSec: b.hbPerSec,
      batchP50: b.p50,
      batchP99: b.p99,
      batchFloorHbPerSec: bf.hbPerSec,
      batchRatio: b.hbPerSec / bf.hbPerSec,
      batchNon2xx: b.non2xx,
      floorSingleP99: sf.p99,
      floorBatchP99: bf.p99,
      pacedHbPerSec: p.hbPerSec,
      pacedP50: p.p50,
      pacedP99: p.p99,
      pacedFloorP50: pf.p50,
      pacedFloorP99: pf.p99,
      pacedNon2xx: p.non2xx,
    };
    results.push(r);
    log(
      `run ${i + 1}: batch 1: ${round(s.hbPerSec)} hb/s (floor ${round(sf.hbPerSec)}, ratio ${round(r.singleRatio, 3)}), p50 ${ms(s.p50)} p99 ${ms(s.p99)}, non-2xx ${s.non2xx}; ` +
        `batch 50: ${round(b.hbPerSec)} hb/s (floor ${round(bf.hbPerSec)}, ratio ${round(r.batchRatio, 3)}), p50 ${ms(b.p50)} p99 ${ms(b.p99)}, non-2xx ${b.non2xx}; ` +
        `paced: ${round(p.hbPerSec)} hb/s, p50 ${ms(p.p50)} p99 ${ms(p.p99)} (floor ${ms(pf.p50)} / ${ms(pf.p99)}), non-2xx ${p.non2xx}`,
    );
  }
} finally {
  await stopAll();
}

const med = medians(results);
const limits = `RATE_LIMIT_HEARTBEATS=${UNLIMITED_RATE}, RATE_LIMIT_API=${UNLIMITED_RATE}, RATE_LIMIT_ALLOWLIST=${BENCH_ALLOWLIST}`;
report({ seconds: SECONDS, runs: RUNS, agents: AGENTS, rateLimits: limits, medians: med, results }, [
  [
    "load",
    `${AGENTS} agents, wrk -t${THREADS} -c${AGENTS} -d${SECONDS}s after ${WARMUP_SECONDS} s warm-up, ${RUNS} runs (medians)`,
  ],
  ["rate limits of the server", `raised for the bench: ${limits}`],
  [
    "batch of 1: persisted heartbeats/s",
    `${round(med.singleHbPerSec)} (floor ${round(med.singleFloorHbPerSec)})`,
  ],
  ["batch of 1: ÷ floor", ratioText(med.singleRatio, "≥ 0.5")],
  [
    "batch of 1: p50 / p99",
    `${ms(med.singleP50)} / ${ms(med.singleP99)} (target p99 < 50 ms; floor p99 ${ms(med.floorSingleP99)})`,
  ],
  [
    "batch of 50: persisted heartbeats/s",
    `${round(med.batchHbPerSec)} (floor ${round(med.batchFloorHbPerSec)})`,
  ],
  ["batch of 50: ÷ floor", ratioText(med.batchRatio, "≥ 0.7")],
  [
    "batch of 50: p50 / p99",
    `${ms(med.batchP50)} / ${ms(med.batchP99)} (target p99 < 50 ms; floor p99 ${ms(med.floorBatchP99)})`,
  ],
  [
    `batch of 50, paced ${PACE_MS} ms: p50 / p99`,
    `${ms(med.pacedP50)} / ${ms(med.pacedP99)} at ${round(med.pacedHbPerSec)} hb/s (floor ${ms(med.pacedFloorP50)} / ${ms(med.pacedFloorP99)}; each agent's next batch ${Math.round(PACE_MS / 2)}–${Math.round((PACE_MS * 3) / 2)} ms after the answer)`,
  ],
  [
    "non-2xx responses (batch 1 / 50 / paced)",
    `${med.singleNon2xx} / ${med.batchNon2xx} / ${med.pacedNon2xx}`,
  ],
]);
