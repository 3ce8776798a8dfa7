import { afterAll, describe, expect, test } from "bun:test";
import { createTestApp, TEST_METRICS_TOKEN } from "./support/app";

const t = await createTestApp();
afterAll(() => t.close());

describe("health", () => {
  test("live and quick health answer without credentials", async () => {
    const live = await t.app.request("/health/live");
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: "pass" });
    const quick = await t.app.request("/api/v1/health");
    expect(await quick.json()).toMatchObject({
      status: "pass",
      version: "0.1.0",
      time: t.clock.now().toISOString(),
    });
  });

  test("ready checks the database and migrations", async () => {
    const res = await t.app.request("/health/ready");
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.status).toBe("pass");
    expect(Object.keys(body.checks).sort()).toEqual(["database", "migrations"]);
  });

  test("ready is 503 naming the database when it is unreachable", async () => {
    const broken = await createTestApp({ DATABASE_URL: "http://127.0.0.1:9" }, { migrate: false });
    const res = await broken.app.request("/health/ready");
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.status).toBe("fail");
    expect(body.checks.database.status).toBe("fail");
    expect(body.checks.database.error).toBeTruthy();
    expect((await broken.app.request("/health/live")).status).toBe(200);
    await broken.close();
  }, 20_000);

  test("ready is 503 naming redis when Redis is unreachable", async () => {
    const noRedis = await createTestApp({ REDIS_URL: "redis://127.0.0.1:1" });
    const res = await noRedis.app.request("/health/ready");
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.checks.redis.status).toBe("fail");
    expect(body.checks.database.status).toBe("pass");
    await noRedis.close();
  }, 20_000);

  test("ready is 503 when migrations are pending", async () => {
    const stale = await createTestApp();
    await stale.platform.db.run("DELETE FROM __drizzle_migrations" as never);
    const res = await stale.app.request("/health/ready");
    expect(res.status).toBe(503);
    expect((await res.json()).checks.migrations.error).toContain("0000_foundation");
    await stale.close();
  });

  test("detailed health needs the operator or metrics token and reports the details", async () => {
    expect((await t.app.request("/api/v1/health/detailed")).status).toBe(401);
    await t.services.jobs.run("db.optimize", { trigger: "manual" });
    const res = await t.app.request("/api/v1/health/detailed", {
      headers: { authorization: `Bearer ${TEST_METRICS_TOKEN}` },
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      status: "pass",
      version: "0.1.0",
      runtime: "memory",
      database: { dialect: "libsql-memory" },
    });
    expect(body.database.latencyMs).toBeGreaterThanOrEqual(0);
    expect(body.disk.freeBytes).toBeGreaterThan(0);
    expect(body.memory.rssBytes).toBeGreaterThan(0);
    expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(body.jobs["db.optimize"].status).toBe("succeeded");
    expect(body.jobs["maintenance.prune-records"]).toBeNull();
    expect(body.queues.outboxPending).toBe(0);
    const op = await t.asOperator("/api/v1/health/detailed");
    expect(op.status).toBe(200);
  });
});
