/**
 * Login benchmark (issue 3, points 1 and 3): argon2id with the spec's parameters must not block the
 * event loop, and an unknown email must cost the same as a wrong password.
 *
 * Each run starts the real server (`bun src/runtime/bun.ts`, fresh DATA_DIR, real argon2id:
 * m=19456 KiB, t=2, p=1), registers 20 users, then:
 *   1. idle floor: probes /health/live back to back for a while with nothing else going on;
 *   2. load: 20 concurrent login loops for DURATION seconds while /health/live is probed in
 *      parallel, giving logins/s, login p50/p99 and /health/live p50/p99 under load;
 *   3. enumeration timing: sequential, interleaved logins with an unknown email and with a wrong
 *      password; the medians and their difference.
 * A second floor, measured in this process, is raw argon2id verify throughput at the same
 * concurrency (what logins/s can at best approach on this machine). Three runs; medians printed.
 *
 * Usage: bun bench/login.ts [--seconds 10] [--runs 3] [--json]
 * Not part of `npm test` (timed figures do not belong there): `npm run bench:login`.
 */
import { type Algorithm, hash, verify } from "@node-rs/argon2";
import { ARGON2_PARAMS } from "../src/adapters/passwords/params";
import { type ServerProcess, startServer, stopAll } from "../test/support/process";
import { argNum, BENCH_ALLOWLIST, hasFlag, median, medians, quantile, report, round, sortNum } from "./lib";

const SECONDS = argNum("seconds", 10);
const RUNS = argNum("runs", 3);
const JSON_OUT = hasFlag("json");
const USERS = 20;
const CONCURRENCY = 20;
const IDLE_MS = 2_000;
const TIMING_SAMPLES = 40;

const ARGON2ID = 2 as Algorithm.Argon2id;

async function post(url: string, body: unknown): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - t0 };
}

/** Probes /health/live back to back until `stop()` resolves; returns each latency in ms. */
async function probeLive(base: string, until: Promise<void>): Promise<number[]> {
  let done = false;
  void until.then(() => {
    done = true;
  });
  const out: number[] = [];
  while (!done) {
    const t0 = performance.now();
    const res = await fetch(`${base}/health/live`);
    await res.arrayBuffer();
    out.push(performance.now() - t0);
    await Bun.sleep(5);
  }
  return out;
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Raw argon2id verify throughput at the same concurrency, in this process (the ceiling). */
async function argon2Floor(seconds: number): Promise<number> {
  const stored = await hash("Quiet-Harbor-Floor-Lantern", { algorithm: ARGON2ID, ...ARGON2_PARAMS });
  const end = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        await verify(stored, "Quiet-Harbor-Floor-Lantern");
        n++;
      }
    }),
  );
  return n / seconds;
}

interface RunResult extends Record<string, number> {
  loginsPerSec: number;
  loginP50: number;
  loginP99: number;
  liveIdleP50: number;
  liveIdleP99: number;
  liveLoadP50: number;
  liveLoadP99: number;
  liveP99Ratio: number;
  unknownEmailMedian: number;
  wrongPasswordMedian: number;
  enumerationDiffMs: number;
  argon2VerifyPerSec: number;
  loginVsArgon2: number;
  errors: number;
}

async function oneRun(): Promise<RunResult> {
  // The benchmark client is loopback: allow-listing it skips the per-IP limits (login 5/15 min per
  // IP+email, register 5/h per IP) that would otherwise answer 429 after a few requests.
  const server: ServerProcess = await startServer({
    LOG_LEVEL: "warn",
    RATE_LIMIT_ALLOWLIST: BENCH_ALLOWLIST,
  });
  try {
    const base = server.url;
    const users = Array.from({ length: USERS }, (_, i) => ({
      email: `bench${i}-${crypto.randomUUID().slice(0, 8)}@example.com`,
      password: `Quiet-Harbor-${i}-Lantern`,
    }));
    for (const u of users) {
      const r = await post(`${base}/api/v1/auth/register`, { ...u, name: "Bench User" });
      if (r.status !== 201) throw new Error(`register failed: ${r.status}`);
    }
    // Warm-up: JIT, the dummy hash for unknown emails, connection pools.
    await Promise.all(users.slice(0, 4).map((u) => post(`${base}/api/v1/auth/login`, u)));
    await post(`${base}/api/v1/auth/login`, {
      email: "warmup-nobody@example.com",
      password: "x-Wrong-Pass-1",
    });

    await delay(1_000); // let deferred work from registration (verification mails) settle
    const idle = await probeLive(base, delay(IDLE_MS));

    const loginMs: number[] = [];
    let errors = 0;
    const end = performance.now() + SECONDS * 1000;
    let stopLoad!: () => void;
    const loadDone = new Promise<void>((r) => {
      stopLoad = r;
    });
    const probe = probeLive(base, loadDone);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, w) => {
        const u = users[w % users.length]!;
        while (performance.now() < end) {
          const r = await post(`${base}/api/v1/auth/login`, u);
          if (r.status === 200) loginMs.push(r.ms);
          else errors++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    stopLoad();
    const live = await probe;

    // Enumeration timing: sequential and interleaved so drift hits both equally.
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < TIMING_SAMPLES; i++) {
      const u = users[i % users.length]!;
      const tryUnknown = () =>
        post(`${base}/api/v1/auth/login`, {
          email: `nobody${i}-${crypto.randomUUID().slice(0, 6)}@example.com`,
          password: "Some-Wrong-Pass-77",
        });
      const tryWrong = () =>
        post(`${base}/api/v1/auth/login`, { email: u.email, password: "Some-Wrong-Pass-77" });
      // Alternate which goes first, so any drift or warm-up hits both equally.
      let a: Awaited<ReturnType<typeof post>>;
      let b: Awaited<ReturnType<typeof post>>;
      if (i % 2) {
        a = await tryUnknown();
        b = await tryWrong();
      } else {
        b = await tryWrong();
        a = await tryUnknown();
      }
      if (a.status !== 401 || b.status !== 401) throw new Error(`expected 401s, got ${a.status}/${b.status}`);
      unknown.push(a.ms);
      wrong.push(b.ms);
    }

    await server.stop();
    const argon2 = await argon2Floor(3);

    const ls = sortNum(loginMs);
    const li = sortNum(idle);
    const ll = sortNum(live);
    const loginsPerSec = loginMs.length / elapsed;
    return {
      loginsPerSec,
      loginP50: quantile(ls, 0.5),
      loginP99: quantile(ls, 0.99),
      liveIdleP50: quantile(li, 0.5),
      liveIdleP99: quantile(li, 0.99),
      liveLoadP50: quantile(ll, 0.5),
      liveLoadP99: quantile(ll, 0.99),
      liveP99Ratio: quantile(ll, 0.99) / quantile(li, 0.99),
      unknownEmailMedian: median(unknown),
      wrongPasswordMedian: median(wrong),
      enumerationDiffMs: median(unknown) - median(wrong),
      argon2VerifyPerSec: argon2,
      loginVsArgon2: loginsPerSec / argon2,
      errors,
    };
  } finally {
    await server.kill();
  }
}

const results: RunResult[] = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const r = await oneRun();
    results.push(r);
    if (!JSON_OUT)
      console.log(
        `run ${i + 1}: ${round(r.loginsPerSec)} logins/s (argon2 floor ${round(r.argon2VerifyPerSec)}/s), login p50 ${round(r.loginP50)} ms p99 ${round(r.loginP99)} ms; /health/live p99 idle ${round(r.liveIdleP99, 2)} ms, under load ${round(r.liveLoadP99, 2)} ms; unknown-email ${round(r.unknownEmailMedian)} ms vs wrong-password ${round(r.wrongPasswordMedian)} ms; errors ${r.errors}`,
      );
  }
} finally {
  await stopAll();
}

const med = medians(results);
report(
  {
    seconds: SECONDS,
    runs: RUNS,
    concurrency: CONCURRENCY,
    rateLimitAllowlist: BENCH_ALLOWLIST,
    medians: med,
    results,
  },
  [
    [
      "argon2id parameters",
      `m=${ARGON2_PARAMS.memoryCost} KiB, t=${ARGON2_PARAMS.timeCost}, p=${ARGON2_PARAMS.parallelism}`,
    ],
    ["concurrent login loops", `${CONCURRENCY} for ${SECONDS} s, ${RUNS} runs (medians)`],
    ["per-IP rate limits", `skipped for the bench client (RATE_LIMIT_ALLOWLIST=${BENCH_ALLOWLIST})`],
    ["logins/s", `${round(med.loginsPerSec)}`],
    ["raw argon2id verify/s (floor, same machine)", `${round(med.argon2VerifyPerSec)}`],
    ["logins/s ÷ raw argon2id verify/s", `${round(med.loginVsArgon2, 2)}`],
    ["login p50 / p99", `${round(med.loginP50)} ms / ${round(med.loginP99)} ms`],
    [
      "/health/live p50 idle / under load",
      `${round(med.liveIdleP50, 2)} ms / ${round(med.liveLoadP50, 2)} ms`,
    ],
    [
      "/health/live p99 idle / under load",
      `${round(med.liveIdleP99, 2)} ms / ${round(med.liveLoadP99, 2)} ms`,
    ],
    ["/health/live p99 ratio (load ÷ idle)", `${round(med.liveP99Ratio, 2)}`],
    ["median login, unknown email", `${round(med.unknownEmailMedian, 2)} ms`],
    ["median login, wrong password", `${round(med.wrongPasswordMedian, 2)} ms`],
    ["difference (unknown − wrong)", `${round(med.enumerationDiffMs, 2)} ms`],
    ["non-200 logins under load", `${med.errors}`],
  ],
);
