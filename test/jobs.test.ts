import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { jobRuns } from "../src/db/schema";
import { defineJob } from "../src/jobs/define";
import { createTestApp, type TestApp } from "./support/app";
import { requires } from "./support/requirements";

const t = await createTestApp();
let release: () => void = () => {};
const gate = () => new Promise<void>((r) => (release = r));
let slowGate: Promise<void> = Promise.resolve();
t.services.jobs.register(
  defineJob({
    id: "test.slow",
    cron: "*/5 * * * *",
    description: "waits for the test",
    run: async () => void (await slowGate),
  }),
  defineJob({
    id: "test.broken",
    cron: "*/5 * * * *",
    description: "always fails",
    run: async () => {
      throw new Error("disk on fire");
    },
  }),
);
afterAll(() => t.close());

const json = { "content-type": "application/json" };

describe("jobs API", () => {
  test("lists every job with its cron and last run", async () => {
    const res = await t.asOperator("/api/v1/admin/jobs");
    expect(res.status).toBe(200);
    const { data } = await res.json();
    const byId = Object.fromEntries(data.map((j: { id: string }) => [j.id, j]));
    expect(byId["db.optimize"]).toMatchObject({ cron: "0 4 * * *", lastRun: null });
    expect(byId["events.relay"].cron).toBe("* * * * *");
    expect(byId["maintenance.prune-records"].cron).toBe("30 3 * * *");
  });

  test("runs a job on demand, records the run, and emits job.triggered", async () => {
    const seen: string[] = [];
    const off = t.services.events.on("job.triggered", (e) => void seen.push(e.payload.jobId));
    const res = await t.asOperator("/api/v1/admin/jobs/db.optimize/run", {
      method: "POST",
      headers: json,
      body: "{}",
    });
    expect(res.status).toBe(200);
    const run = await res.json();
    expect(run).toMatchObject({ jobId: "db.optimize", trigger: "manual", status: "succeeded", error: null });
    expect(run.result.optimized).toBe(true);
    const [row] = await t.platform.db.select().from(jobRuns).where(eq(jobRuns.id, run.id));
    expect(row?.status).toBe("succeeded");
    await t.platform.drain();
    expect(seen).toEqual(["db.optimize"]);
    off();
    const list = await (await t.asOperator("/api/v1/admin/jobs")).json();
    expect(list.data.find((j: { id: string }) => j.id === "db.optimize").lastRun.id).toBe(run.id);
  });

  test("without a body the run waits; wait:false answers 202 and runs after the response", async () => {
    expect(
      (await t.asOperator("/api/v1/admin/jobs/maintenance.prune-records/run", { method: "POST" })).status,
    ).toBe(200);
    const res = await t.asOperator("/api/v1/admin/jobs/maintenance.prune-records/run", {
      method: "POST",
      headers: json,
      body: JSON.stringify({ wait: false }),
    });
    expect(res.status).toBe(202);
    await t.platform.drain();
    const rows = await t.platform.db
      .select()
      .from(jobRuns)
      .where(eq(jobRuns.jobId, "maintenance.prune-records"));
    expect(rows).toHaveLength(2);
  });

  test("unknown job is 404; a second run while one is in progress is 409", async () => {
    expect((await t.asOperator("/api/v1/admin/jobs/no.such/run", { method: "POST" })).status).toBe(404);
    slowGate = gate();
    const first = t.asOperator("/api/v1/admin/jobs/test.slow/run", { method: "POST" });
    while (!(await t.platform.kv.get("job:running:test.slow"))) await Bun.sleep(1);
    const second = await t.asOperator("/api/v1/admin/jobs/test.slow/run", { method: "POST" });
    expect(second.status).toBe(409);
    expect((await second.json()).code).toBe("JOB_ALREADY_RUNNING");
    release();
    expect((await first).status).toBe(200);
  });

  test("a failing job is recorded as failed with its error", async () => {
    const res = await t.asOperator("/api/v1/admin/jobs/test.broken/run", { method: "POST" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "failed", error: "disk on fire" });
    expect(await t.platform.metrics.render()).toContain(
      'job_runs_total{job="test.broken",status="failed"} 1',
    );
  });

  test("run history is cursor-paginated with a Link header", async () => {
    for (let i = 0; i < 4; i++) {
      t.clock.advance(1000);
      await t.services.jobs.run("events.relay", { trigger: "manual" });
    }
    const p1 = await t.asOperator("/api/v1/admin/jobs/events.relay/runs?limit=3");
    const b1 = await p1.json();
    expect(b1.data).toHaveLength(3);
    expect(p1.headers.get("link")).toBe(
      `</api/v1/admin/jobs/events.relay/runs?limit=3&cursor=${b1.nextCursor}>; rel="next"`,
    );
    const b2 = await (
      await t.asOperator(`/api/v1/admin/jobs/events.relay/runs?limit=3&cursor=${b1.nextCursor}`)
    ).json();
    expect(b2.data).toHaveLength(1);
    expect(b2.nextCursor).toBeNull();
    const starts = [...b1.data, ...b2.data].map((r: { startedAt: string }) => r.startedAt);
    expect(starts).toEqual([...starts].sort().reverse());
    const bad = await t.asOperator("/api/v1/admin/jobs/events.relay/runs?cursor=garbage");
    expect(bad.status).toBe(422);
  });
});

describe("maintenance", () => {
  test("prune-records fails runs abandoned by a dead instance and deletes old finished runs", async () => {
    const now = t.clock.now().getTime();
    const day = 86_400_000;
    const base = { jobId: "db.optimize", trigger: "schedule" as const, instanceId: "dead" };
    await t.platform.db.insert(jobRuns).values([
      { ...base, id: "jrun_abandoned", status: "running", startedAt: new Date(now - 2 * day) },
      { ...base, id: "jrun_recent_running", status: "running", startedAt: new Date(now - 60_000) },
      { ...base, id: "jrun_old_done", status: "succeeded", startedAt: new Date(now - 40 * day) },
    ]);
    const out = await t.services.jobs.run("maintenance.prune-records", { trigger: "manual" });
    expect(out.status).toBe("succeeded");
    const rows = Object.fromEntries(
      (await t.platform.db.select().from(jobRuns).where(eq(jobRuns.instanceId, "dead"))).map((r) => [
        r.id,
        r,
      ]),
    );
    expect(rows.jrun_abandoned?.status).toBe("failed");
    expect(rows.jrun_abandoned?.error).toContain("abandoned");
    expect(rows.jrun_recent_running?.status).toBe("running");
    expect(rows.jrun_old_done).toBeUndefined();
  });
});

describe("scheduling semantics", () => {
  test("a cron tick runs once; the next tick runs again", async () => {
    const tick = new Date("2026-01-05T04:00:00Z");
    const a = await t.services.jobs.run("db.optimize", { trigger: "schedule", scheduledFor: tick });
    const b = await t.services.jobs.run("db.optimize", {
      trigger: "schedule",
      scheduledFor: new Date(tick.getTime() + 20_000),
    });
    expect(a.status).toBe("succeeded");
    expect(b).toEqual({ status: "skipped", reason: "tick-taken" });
    const next = await t.services.jobs.run("db.optimize", {
      trigger: "schedule",
      scheduledFor: new Date("2026-01-06T04:00:00Z"),
    });
    expect(next.status).toBe("succeeded");
  });

  test("runDue runs exactly the jobs on that cron", async () => {
    const out = await t.services.jobs.runDue("30 3 * * *", new Date("2026-01-05T03:30:00Z"));
    expect(out).toHaveLength(1);
    expect(out[0]?.status).toBe("succeeded");
  });
});

describe("two instances sharing Redis", () => {
  if (!requires("Redis (REDIS_URL)", !!process.env.REDIS_URL, "set REDIS_URL=redis://127.0.0.1:6379")) return;
  const dir = mkdtempSync(join(tmpdir(), "tt-jobs-"));
  const instances: TestApp[] = [];
  afterAll(async () => {
    for (const i of instances) await i.close();
  });

  test("a scheduled tick runs on exactly one instance; a run in progress blocks the other", async () => {
    const env = {
      REDIS_URL: process.env.REDIS_URL as string,
      DATABASE_URL: `file:${join(dir, "shared.db")}`,
    };
    const a = await createTestApp({ ...env, INSTANCE_ID: "instance-a" });
    const b = await createTestApp({ ...env, INSTANCE_ID: "instance-b" });
    instances.push(a, b);
    let runs = 0;
    let hold: () => void = () => {};
    const held = new Promise<void>((r) => (hold = r));
    const job = (id: string) =>
      defineJob({
        id,
        cron: "* * * * *",
        description: "counts runs",
        run: async () => {
          runs++;
          await held;
          return { runs };
        },
      });
    // A unique id per test run keeps lock keys apart from earlier runs against the same Redis.
    const id = `test.shared-${crypto.randomUUID().slice(0, 8)}`;
    a.services.jobs.register(job(id));
    b.services.jobs.register(job(id));
    const tick = new Date();
    const both = Promise.all([
      a.services.jobs.run(id, { trigger: "schedule", scheduledFor: tick }),
      b.services.jobs.run(id, { trigger: "schedule", scheduledFor: tick }),
    ]);
    // While the winner is still running, a manual run on either instance is refused.
    while (runs === 0) await Bun.sleep(5);
    const manual = await b.services.jobs.run(id, { trigger: "manual" });
    expect(manual).toEqual({ status: "skipped", reason: "already-running" });
    hold();
    const outcomes = await both;
    expect(outcomes.map((o) => o.status).sort()).toEqual(["skipped", "succeeded"]);
    expect(runs).toBe(1);
    const rows = await a.platform.db.select().from(jobRuns).where(eq(jobRuns.jobId, id));
    expect(rows).toHaveLength(1);
    // Once finished, the lock is released: the next manual run goes ahead on the other instance.
    const again = await b.services.jobs.run(id, { trigger: "manual" });
    expect(again.status).toBe("succeeded");
  });
});
