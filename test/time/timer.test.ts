import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { and, eq, isNull } from "drizzle-orm";
import { outboxEvents, timeEntries } from "../../src/db/schema";
import type { DomainEvent } from "../../src/events/types";
import { AppError } from "../../src/lib/errors";
import { newId } from "../../src/lib/ids";
import { startTimer, stopTimer } from "../../src/modules/time/time.service";
import { call, memberIdOf, ok, reauth, setSettings, type Team, team } from "./support";

let x: Team;
let events: DomainEvent[];
beforeEach(async () => {
  x = await team();
  events = [];
  x.t.services.events.on("*", (e) => void events.push(e));
  // A durable consumer makes the bus write outbox rows inside the same batch as each change.
  x.t.services.events.consume("test-sink", "*", async () => {});
});
afterEach(() => x.t.close());

const running = async (memberId: string) =>
  x.t.platform.db
    .select()
    .from(timeEntries)
    .where(and(eq(timeEntries.memberId, memberId), isNull(timeEntries.endAt), isNull(timeEntries.deletedAt)));

const outbox = async (type: string) =>
  (await x.t.platform.db.select().from(outboxEvents).where(eq(outboxEvents.type, type))).map(
    (r) => JSON.parse(r.payload).payload as Record<string, unknown>,
  );

describe("timer", () => {
  test("start, read and stop: one entry, times from the clock, events timer.started/timer.stopped", async () => {
    const { t, member } = x;
    const mem = await memberIdOf(t, member);
    const started = await ok(t, 201, "POST", "/api/v1/timer/start", member, { description: "Review" });
    expect(started).toMatchObject({
      memberId: mem,
      description: "Review",
      start: "2026-03-02T09:00:00.000Z",
      end: null,
      running: true,
      source: "timer",
    });
    t.clock.advance(90 * 60_000);
    await reauth(t, member);
    expect((await ok(t, 200, "GET", "/api/v1/timer", member)).timer).toMatchObject({
      id: started.id,
      durationSeconds: 5400,
    });
    const stopped = await ok(t, 200, "POST", "/api/v1/timer/stop", member);
    expect(stopped).toMatchObject({
      id: started.id,
      end: "2026-03-02T10:30:00.000Z",
      running: false,
      durationSeconds: 5400,
    });
    expect((await ok(t, 200, "GET", "/api/v1/timer", member)).timer).toBeNull();

    await t.platform.drain();
    expect(events.map((e) => e.type)).toEqual(["timer.started", "timer.stopped"]);
    expect(events[1]).toMatchObject({
      orgId: member.orgId,
      actor: member.userId,
      payload: {
        orgId: member.orgId,
        memberId: mem,
        entryId: started.id,
        startAt: "2026-03-02T09:00:00.000Z",
        endAt: "2026-03-02T10:30:00.000Z",
        durationSeconds: 5400,
      },
    });
    expect(await outbox("timer.started")).toEqual([
      {
        orgId: member.orgId,
        memberId: mem,
        entryId: started.id,
        startAt: "2026-03-02T09:00:00.000Z",
        projectId: null,
      },
    ]);
    expect(await outbox("timer.stopped")).toHaveLength(1);
  });

  test("stop with no timer running → 409 TIMER_NOT_RUNNING, no event", async () => {
    const r = await call(x.t, "POST", "/api/v1/timer/stop", x.member);
    expect(r.status).toBe(409);
    expect(r.body.code).toBe("TIMER_NOT_RUNNING");
    expect(await outbox("timer.stopped")).toEqual([]);
  });

  test("timer mode stop_previous: starting again stops the running timer at the same instant, in one batch", async () => {
    const { t, member } = x;
    const first = await ok(t, 201, "POST", "/api/v1/timer/start", member, {});
    t.clock.advance(25 * 60_000);
    await reauth(t, member);
    const second = await ok(t, 201, "POST", "/api/v1/timer/start", member, { description: "next" });
    const [old] = await t.platform.db
      .select()
      .from(timeEntries)
      .where(eq(timeEntries.id, first.id as string));
    expect(old?.endAt?.toISOString()).toBe("2026-03-02T09:25:00.000Z");
    expect(second.start).toBe("2026-03-02T09:25:00.000Z");
    expect((await running(await memberIdOf(t, member))).map((r) => r.id)).toEqual([second.id as string]);
    // Both events were recorded by the same batch: same occurrence instant, both in the outbox.
    expect((await outbox("timer.stopped")).map((p) => p.entryId)).toEqual([first.id]);
    expect((await outbox("timer.started")).map((p) => p.entryId)).toEqual([first.id, second.id]);
  });

  test("timer mode refuse: a second start is 409 TIMER_RUNNING naming the running entry", async () => {
    const { t, member } = x;
    await setSettings(t, member.orgId, { timerMode: "refuse" });
    const first = await ok(t, 201, "POST", "/api/v1/timer/start", member, {});
    const r = await call(t, "POST", "/api/v1/timer/start", member, {});
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: "TIMER_RUNNING", runningEntryId: first.id });
    expect(await outbox("timer.started")).toHaveLength(1);
  });

  for (const mode of ["stop_previous", "refuse"] as const) {
    test(`10 concurrent starts (${mode}): exactly one timer runs, no 500`, async () => {
      const { t, member } = x;
      await setSettings(t, member.orgId, { timerMode: mode });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          call(t, "POST", "/api/v1/timer/start", member, { description: `#${i}` }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
      if (mode === "refuse") expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      else expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
      const live = await running(await memberIdOf(t, member));
      expect(live).toHaveLength(1);
      // The one running is the last successful start; each success emitted exactly one timer.started.
      const startedIds = (await outbox("timer.started")).map((p) => p.entryId);
      expect(startedIds).toHaveLength(statuses.filter((s) => s === 201).length);
      expect(startedIds).toContain(live[0]?.id);
      const rows = await t.platform.db.select().from(timeEntries);
      expect(rows).toHaveLength(startedIds.length); // losers left nothing behind
    });
  }

  test("racing starts inside the service (reads interleaved, no HTTP queueing): one runs, losers get 409 or retry", async () => {
    const { t, member } = x;
    const deps = { db: t.platform.db, clock: t.clock, events: t.services.events };
    const actor = {
      orgId: member.orgId,
      userId: member.userId,
      memberId: await memberIdOf(t, member),
      canManage: false,
      canReadAll: false,
    };
    for (const mode of ["refuse", "stop_previous"] as const) {
      await setSettings(t, member.orgId, { timerMode: mode });
      if (mode === "stop_previous") await stopTimer(deps, actor);
      const settled = await Promise.allSettled(Array.from({ length: 10 }, () => startTimer(deps, actor, {})));
      const won = settled.filter((s) => s.status === "fulfilled");
      const lost = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as AppError] : []));
      // Every loser is a 409 problem (TIMER_RUNNING, or TIMER_CONFLICT after repeated lost races), never a raw error.
      expect(lost.every((e) => e instanceof AppError && e.status === 409)).toBe(true);
      if (mode === "refuse") expect(won).toHaveLength(1);
      else expect(won.length).toBeGreaterThanOrEqual(1);
      expect(await running(actor.memberId)).toHaveLength(1);
    }
  });

  test("the partial unique index is the last line of defence: its violation maps to 409, not 500", async () => {
    const { t, member } = x;
    await setSettings(t, member.orgId, { timerMode: "refuse" });
    const mem = await memberIdOf(t, member);
    // A running entry written behind the service's back after its read would collide on the index.
    const now = t.clock.now();
    await t.platform.db.insert(timeEntries).values({
      id: newId("timeEntry", now),
      orgId: member.orgId,
      memberId: mem,
      startAt: now,
      source: "timer",
      createdAt: now,
      updatedAt: now,
    });
    const r = await call(t, "POST", "/api/v1/timer/start", member, {});
    expect(r.status).toBe(409);
    expect(r.body.code).toBe("TIMER_RUNNING");
  });

  test("a timer stopped after more than 7 days ends 7 days after its start, flagged max_duration", async () => {
    const { t, member } = x;
    await ok(t, 201, "POST", "/api/v1/timer/start", member, {});
    t.clock.advance(9 * 86_400_000);
    await reauth(t, member);
    const stopped = await ok(t, 200, "POST", "/api/v1/timer/stop", member);
    expect(stopped).toMatchObject({
      end: "2026-03-09T09:00:00.000Z",
      flag: "max_duration",
      durationSeconds: 604800,
    });
  });

  test("project and tags must be active ones of the organization; billable defaults to the project's", async () => {
    const { t, admin, member, other } = x;
    const project = await ok(t, 201, "POST", "/api/v1/projects", admin, { name: "Client", billable: true });
    const tag = await ok(t, 201, "POST", "/api/v1/tags", admin, { name: "deep work" });
    const foreign = await ok(t, 201, "POST", "/api/v1/projects", other, { name: "Theirs" });
    const bad = await call(t, "POST", "/api/v1/timer/start", member, {
      projectId: foreign.id,
      tagIds: ["tag_nope"],
    });
    expect(bad.status).toBe(422);
    expect((bad.body.errors as { path: string }[]).map((e) => e.path)).toEqual(["projectId", "tagIds.0"]);
    const started = await ok(t, 201, "POST", "/api/v1/timer/start", member, {
      projectId: project.id,
      tagIds: [tag.id, tag.id],
    });
    expect(started).toMatchObject({ projectId: project.id, billable: true, tagIds: [tag.id] });
    await ok(t, 200, "POST", `/api/v1/projects/${project.id}/archive`, admin);
    const archived = await call(t, "POST", "/api/v1/timer/start", member, { projectId: project.id });
    expect(archived.status).toBe(422);
    expect(archived.body.errors).toEqual([{ path: "projectId", message: "is archived", code: "archived" }]);
  });

  test("an agent token drives its own member's timer; a viewer cannot track time", async () => {
    const { t, member, viewer } = x;
    const agent = await ok(t, 201, "POST", "/api/v1/agents", member, { name: "Laptop" });
    const auth = { auth: { authorization: `Bearer ${agent.token}` } };
    const started = await ok(t, 201, "POST", "/api/v1/timer/start", auth, {});
    expect(started.memberId).toBe(await memberIdOf(t, member));
    expect((await ok(t, 200, "GET", "/api/v1/timer", member)).timer).toMatchObject({ id: started.id });
    // Agents are limited to their own timer: entries and reports stay closed to them.
    expect((await call(t, "GET", "/api/v1/time-entries", auth)).status).toBe(403);
    expect((await call(t, "POST", "/api/v1/timer/start", viewer, {})).status).toBe(403);
  });

  test("unknown fields and malformed bodies are 422 naming the field", async () => {
    const r = await call(x.t, "POST", "/api/v1/timer/start", x.member, { projectId: 5, extra: true });
    expect(r.status).toBe(422);
    const paths = (r.body.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(["extra", "projectId"]);
  });
});
