/**
 * API overhead benchmark (issue 5, point 8): an authenticated `GET /api/v1/me` on the real server
 * against a bare Hono hello-world (bench/floor-hono.ts, its own Bun.serve process) in the same run.
 *
 * The real server (`bun src/runtime/bun.ts`, fresh DATA_DIR, libSQL file in WAL mode) runs every
 * middleware of a production request: request id, tracing span, security headers, CORS, rate limit,
 * access-token verification (HS256) and the session lookup in the database, then `/me`'s own query.
 * Loopback clients skip the per-IP limits (RATE_LIMIT_ALLOWLIST) and the per-user API budget is set
 * out of reach (RATE_LIMIT_API); the output says so.
 *
 * Each run measures the floor and the server back to back with wrk (same threads, connections and
 * duration) and takes their ratio; medians of the runs are printed.
 *
 * Usage: bun bench/api.ts [--seconds 10] [--runs 3] [--connections 64] [--json]
 * Not part of `npm test`: `npm run bench:api`.
 */
import { startServer, stopAll } from "../test/support/process";
import {
  argNum,
  BENCH_ALLOWLIST,
  hasFlag,
  medians,
  ms,
  postJson,
  ratioText,
  report,
  round,
  runWrk,
  startFloor,
  UNLIMITED_RATE,
  type WrkResult,
} from "./lib";

const SECONDS = argNum("seconds", 10);
const RUNS = argNum("runs", 3);
const CONNECTIONS = argNum("connections", 64);
const JSON_OUT = hasFlag("json");
const TARGET = 0.4;

interface RunResult extends Record<string, number> {
  floorRps: number;
  floorP50: number;
  floorP99: number;
  meRps: number;
  meP50: number;
  meP99: number;
  ratio: number;
  meNon2xx: number;
}

const summary = (r: WrkResult) => ({ rps: r.requestsPerSec, p50: r.p50, p99: r.p99, non2xx: r.non2xx });

const server = await startServer({
  LOG_LEVEL: "warn",
  RATE_LIMIT_ALLOWLIST: BENCH_ALLOWLIST,
  RATE_LIMIT_API: UNLIMITED_RATE,
});
const floor = await startFloor("floor-hono.ts");
const results: RunResult[] = [];
try {
  const email = `bench-api-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = "Quiet-Harbor-Api-Lantern";
  const reg = await postJson(`${server.url}/api/v1/auth/register`, { email, password, name: "Bench" });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const login = await postJson(`${server.url}/api/v1/auth/login`, { email, password });
  const token = (login.body as { accessToken?: string }).accessToken;
  if (login.status !== 200 || !token) throw new Error(`login: ${login.status}`);
  const auth = { authorization: `Bearer ${token}` };
  const probe = await fetch(`${server.url}/api/v1/me`, { headers: auth });
  if (probe.status !== 200) throw new Error(`GET /api/v1/me: ${probe.status} ${await probe.text()}`);

  // Warm-up (JIT, connection setup) for both, not measured.
  await runWrk({ url: `${floor.url}/`, seconds: 2, connections: CONNECTIONS });
  await runWrk({ url: `${server.url}/api/v1/me`, seconds: 2, connections: CONNECTIONS, headers: auth });

  for (let i = 0; i < RUNS; i++) {
    const f = summary(await runWrk({ url: `${floor.url}/`, seconds: SECONDS, connections: CONNECTIONS }));
    const m = summary(
      await runWrk({
        url: `${server.url}/api/v1/me`,
        seconds: SECONDS,
        connections: CONNECTIONS,
        headers: auth,
      }),
    );
    const r: RunResult = {
      floorRps: f.rps,
      floorP50: f.p50,
      floorP99: f.p99,
      meRps: m.rps,
      meP50: m.p50,
      meP99: m.p99,
      ratio: m.rps / f.rps,
      meNon2xx: m.non2xx,
    };
    results.push(r);
    if (!JSON_OUT)
      console.log(
        `run ${i + 1}: hello-world ${round(f.rps)} req/s, GET /api/v1/me ${round(m.rps)} req/s (p50 ${ms(m.p50)}, p99 ${ms(m.p99)}, non-2xx ${m.non2xx}), ratio ${round(r.ratio, 3)}`,
      );
  }
} finally {
  await floor.stop();
  await server.stop();
  await stopAll();
}

const med = medians(results);
const limits = `RATE_LIMIT_ALLOWLIST=${BENCH_ALLOWLIST} (per-IP limits skipped), RATE_LIMIT_API=${UNLIMITED_RATE}`;
report(
  { seconds: SECONDS, runs: RUNS, connections: CONNECTIONS, rateLimits: limits, medians: med, results },
  [
    ["load", `wrk -t2 -c${CONNECTIONS} -d${SECONDS}s, ${RUNS} runs (medians)`],
    ["rate limits of the server", limits],
    [
      "floor: bare Hono hello-world",
      `${round(med.floorRps)} req/s (p50 ${ms(med.floorP50)}, p99 ${ms(med.floorP99)})`,
    ],
    [
      "GET /api/v1/me (authenticated)",
      `${round(med.meRps)} req/s (p50 ${ms(med.meP50)}, p99 ${ms(med.meP99)})`,
    ],
    ["/me ÷ hello-world", ratioText(med.ratio, `≥ ${TARGET}`)],
    ["non-2xx /me responses", `${med.meNon2xx}`],
  ],
);
