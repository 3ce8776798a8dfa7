import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import { jobRuns, outboxEvents } from "../src/db/schema";
import type { DomainEvent } from "../src/events/types";
import { createTestApp, type TestApp } from "./support/app";

const opened: TestApp[] = [];
afterAll(async () => {
  for (const a of opened) await a.close();
});

describe("domain events", () => {
  test("in-process subscribers run after publish, off the request path; a failing one does not stop the others", async () => {
    const t = await createTestApp();
    opened.push(t);
    const got: string[] = [];
    t.services.events.on("job.triggered", () => {
      throw new Error("subscriber bug");
    });
    t.services.events.on("job.triggered", (e) => void got.push(`typed:${e.payload.jobId}`));
    t.services.events.on("*", (e) => void got.push(`any:${e.type}`));
    const ev = t.services.events.create(
      "job.triggered",
      { jobId: "db.optimize", runId: null, trigger: "manual" },
      { actor: "operator" },
    );
    t.services.events.publish(ev);
    expect(got).toEqual([]); // nothing ran synchronously
    await t.platform.drain();
    expect(got.sort()).toEqual(["any:job.triggered", "typed:db.optimize"]);
    expect(t.logs.lines.some((l) => l.msg === "event subscriber failed")).toBe(true);
  });

  test("durable consumers survive a crash between commit and delivery", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tt-events-"));
    const env = { DATABASE_URL: `file:${join(dir, "db.sqlite")}` };
    // Instance 1 commits a change together with its outbox row, then "dies" before publishing.
    const first = await createTestApp(env);
    first.services.events.consume("audit", ["job.triggered"], async () => {});
    const ev = first.services.events.create(
      "job.triggered",
      { jobId: "db.optimize", runId: "jrun_x", trigger: "cli" },
      { actor: "system" },
    );
    await first.platform.db.batch([
      first.platform.db.insert(jobRuns).values({
        id: "jrun_x",
        jobId: "db.optimize",
        trigger: "cli",
        status: "succeeded",
        startedAt: first.clock.now(),
        instanceId: "crashed",
      }),
      ...first.services.events.record(ev),
    ] as never);
    await first.close();

    // Instance 2 starts on the same database; its relay job delivers what instance 1 never did.
    const second = await createTestApp(env);
    opened.push(second);
    const delivered: DomainEvent[] = [];
    second.services.events.consume("audit", ["job.triggered"], async (e) => void delivered.push(e));
    expect(await second.services.events.pendingCount()).toBe(1);
    const run = await second.services.jobs.run("events.relay", { trigger: "manual" });
    expect(run.status).toBe("succeeded");
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({
      id: ev.id,
      type: "job.triggered",
      actor: "system",
      payload: { runId: "jrun_x" },
    });
    const [row] = await second.platform.db.select().from(outboxEvents).where(eq(outboxEvents.eventId, ev.id));
    expect(row?.status).toBe("done");
    // Delivered once: a second relay finds nothing.
    await second.services.events.relay();
    expect(delivered).toHaveLength(1);
  });

  test("an event published while a relay pass runs is delivered by a follow-up pass, not left for the next tick", async () => {
    const t = await createTestApp();
    opened.push(t);
    const delivered: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    t.services.events.consume("sink", ["job.triggered"], async (event) => {
      const e = event as DomainEvent<"job.triggered">;
      if (e.payload.jobId === "first.one") await gate; // hold the first pass until the second event is committed
      delivered.push(e.payload.jobId);
    });
    const emit = (jobId: string) =>
      t.services.events.emit(
        t.services.events.create("job.triggered", { jobId, runId: null, trigger: "manual" }),
      );
    await emit("first.one");
    await Bun.sleep(0); // the first pass has read its rows and waits in the consumer
    await emit("second.one"); // committed after that read
    release();
    await t.platform.drain();
    expect(delivered).toEqual(["first.one", "second.one"]);
    const rows = await t.platform.db.select().from(outboxEvents);
    expect(rows.map((r) => r.status)).toEqual(["done", "done"]);
  });

  test("record() is atomic with the change: a failed batch leaves no outbox row", async () => {
    const t = await createTestApp();
    opened.push(t);
    t.services.events.consume("audit", "*", async () => {});
    const ev = t.services.events.create("job.triggered", { jobId: "x.y", runId: null, trigger: "manual" });
    const dup = {
      id: "jrun_dup",
      jobId: "x.y",
      trigger: "manual" as const,
      status: "succeeded" as const,
      startedAt: t.clock.now(),
      instanceId: "i",
    };
    await t.platform.db.insert(jobRuns).values(dup);
    await expect(
      t.platform.db.batch([
        ...t.services.events.record(ev),
        t.platform.db.insert(jobRuns).values(dup),
      ] as never),
    ).rejects.toThrow();
    const [count] = await t.platform.db.all<{ n: number }>(sql`select count(*) as n from outbox_events`);
    expect(count?.n).toBe(0);
  });
});
