import { afterAll, afterEach, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { createRedis } from "../../src/adapters/kv/redis";
import { ManualClock } from "../../src/ports/clock";
import { createTestApp, type TestApp } from "../support/app";
import { seedMember } from "../support/identity";
import { requires, which } from "../support/requirements";
import { freePort } from "../support/tools";

/**
 * SPEC 2.5 across instances: two app instances (two platforms, two Redis connections) sharing ONE
 * real Redis enforce one limit; with their Redis killed mid-run they keep answering on local limits,
 * /health/ready reports Redis down, and once it is back they share again.
 */

const SHARED_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const LOGIN = "/api/v1/auth/login";
/** One prefix per run, so parallel runs and leftovers never share a bucket. */
const PREFIX = `tt-rl-test:${crypto.randomUUID()}:`;

async function reachable(url: string): Promise<boolean> {
  const redis = createRedis(url, { onError: () => {}, retryStrategy: () => null });
  try {
    await redis.ping();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function instance(redisUrl: string): Promise<TestApp> {
  const t = await createTestApp(
    { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: PREFIX },
    { clock: new ManualClock("2026-03-02T10:00:00Z") },
  );
  apps.push(t);
  return t;
}

function login(t: TestApp, email: string, ip = "203.0.113.10", password = "Wrong-Password-123") {
  return t.app.request(
    LOGIN,
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password }),
    },
    { ip },
  );
}

function forgot(t: TestApp, ip: string) {
  return t.app.request(
    "/api/v1/auth/password/forgot",
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "nobody@example.com" }),
    },
    { ip },
  );
}

async function expectLimited(res: Response) {
  expect(res.status).toBe(429);
  expect(((await res.json()) as { code: string }).code).toBe("RATE_LIMITED");
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
}

const remaining = (res: Response) => /;r=(\d+)/.exec(res.headers.get("ratelimit") ?? "")?.[1];

async function ready(t: TestApp) {
  const res = await t.app.request("/health/ready");
  return { status: res.status, body: (await res.json()) as { checks: Record<string, { status: string }> } };
}

const logged = (t: TestApp, msg: string) => t.logs.lines.filter((l) => String(l.msg).includes(msg)).length;

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

if (
  requires("Redis (REDIS_URL)", await reachable(SHARED_URL), `start one: redis-server --port 6379 --save ""`)
) {
  afterAll(async () => {
    const admin = createRedis(SHARED_URL);
    let cursor = "0";
    do {
      const [next, found] = await admin.scan(cursor, "MATCH", `${PREFIX}*`, "COUNT", 1000);
      if (found.length > 0) await admin.del(...found);
      cursor = next;
    } while (cursor !== "0");
    await admin.quit();
  });

  describe("two instances, one Redis", () => {
    test("enforce one shared login limit: the 6th attempt across both is 429", async () => {
      const a = await instance(SHARED_URL);
      const b = await instance(SHARED_URL);
      const email = `shared-${crypto.randomUUID()}@example.com`;
      const seen: (string | undefined)[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await login(i % 2 ? b : a, email);
        expect(res.status).toBe(401);
        seen.push(remaining(res));
      }
      // One counter: each instance sees the other's hits.
      expect(seen).toEqual(["4", "3", "2", "1", "0"]);
      const sixth = await login(b, email);
      expect(sixth.status).toBe(429);
      expect(((await sixth.json()) as { code: string }).code).toBe("RATE_LIMITED");
      expect(Number(sixth.headers.get("retry-after"))).toBeGreaterThan(890);
      expect((await login(a, email)).status).toBe(429);
      // Another IP is its own shared bucket.
      expect((await login(a, email, "198.51.100.1")).status).toBe(401);
      expect(logged(a, "fall back")).toBe(0);
    });
  });
}

if (requires("redis-server", which("redis-server") !== null, "apt-get install redis-server")) {
  describe("Redis outage", () => {
    let server: Subprocess | undefined;
    let port = 0;

    async function startRedis(): Promise<void> {
      server = Bun.spawn(
        ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        { stdout: "ignore", stderr: "ignore" },
      );
      await until("redis-server to answer", () => reachable(`redis://127.0.0.1:${port}`), 10_000);
    }

    async function killRedis(): Promise<void> {
      server?.kill(9);
      await server?.exited;
      server = undefined;
    }

    afterAll(killRedis);

    test("limits fall back locally, /health/ready says redis is down, and sharing resumes when it returns", async () => {
      port = await freePort();
      await startRedis();
      const url = `redis://127.0.0.1:${port}`;
      const a = await instance(url);
      const b = await instance(url);
      const member = await seedMember(a, "member");
      expect((await ready(a)).status).toBe(200);

      // Password-forgot is limited per IP (5/h) and touches no other shared state, so it isolates the limiter.
      const ip = (tag: string) => `198.51.100.${tag === "before" ? 1 : tag === "during" ? 2 : 3}`;
      expect(remaining(await forgot(a, ip("before")))).toBe("4");
      expect(remaining(await forgot(b, ip("before")))).toBe("3");

      await killRedis();

      // The API keeps answering, with limits enforced by each instance on its own (latency: bench, not here).
      for (let i = 0; i < 5; i++) {
        const res = await forgot(a, ip("during"));
        expect(res.status).toBe(202);
        expect(remaining(res)).toBe(String(4 - i));
      }
      await expectLimited(await forgot(a, ip("during")));
      // b has its own local counter meanwhile (during an outage the limit is per instance).
      expect(remaining(await forgot(b, ip("during")))).toBe("4");
      // Authenticated routes answer too, counted locally per user.
      const me = await a.app.request("/api/v1/me", { headers: member.auth }, { ip: "198.51.100.9" });
      expect(me.status).toBe(200);
      expect(me.headers.get("ratelimit")).toBe('"api";r=99;t=60');
      // Sign-in keeps working: the lockout counters in the KvStore fail open during the outage.
      const signedIn = await login(a, member.email, "198.51.100.10", member.password);
      expect(signedIn.status).toBe(200);

      const down = await ready(a);
      expect(down.status).toBe(503);
      expect(down.body.checks.redis?.status).toBe("fail");
      expect(down.body.checks.database?.status).toBe("pass");
      // One warning for the outage, not one per request.
      expect(logged(a, "rate limits fall back")).toBe(1);
      expect(logged(b, "rate limits fall back")).toBe(1);

      await startRedis(); // same port, empty data
      await until("readiness to pass again", async () => (await ready(a)).status === 200);
      let probe = 10;
      await until("both instances to use Redis again", async () => {
        probe++;
        await forgot(a, `192.0.2.${probe}`);
        await forgot(b, `192.0.2.${probe}`);
        return (
          logged(a, "rate limits are shared again") === 1 && logged(b, "rate limits are shared again") === 1
        );
      });

      const seen: (string | undefined)[] = [];
      for (let i = 0; i < 5; i++) seen.push(remaining(await forgot(i % 2 ? b : a, ip("after"))));
      expect(seen).toEqual(["4", "3", "2", "1", "0"]);
      await expectLimited(await forgot(b, ip("after")));
    });
  });
}
