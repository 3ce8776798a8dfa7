/**
 * Idle detection (SPEC 3): the `idle.detect` job on the manual clock raises idle periods and
 * alerts, ends or withdraws them; members resolve them on the entry (keep / discard / split).
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { asc, eq } from "drizzle-orm";
import { idlePeriods, outboxEvents, projects, tags, timeEntries, timeEntryTags } from "../../src/db/schema";
import type { DomainEvent } from "../../src/events/types";
import { newId } from "../../src/lib/ids";
import { piecesAfter } from "../../src/modules/idle/idle.rewrite";
import { mailTo } from "../account/support";
import { hb, ingest, setSettings, type Tracker, tracker } from "../activity/support";
import { createTestApp, type TestApp } from "../support/app";
import { reauth } from "../time/support";

let t: TestApp;
beforeEach(async () => {
  await t?.close();
  t = await createTestApp({ PUBLIC_URL: "https://app.teamtrack.test" });
  t.clock.set(T0);
});
afterAll(() => t?.close());

const T0 = "2026-03-02T09:00:00Z";
const MIN = 60_000;
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * MIN);
const iso = (minutes: number) => at(minutes).toISOString();

/** A request as `who` with a fresh access token (the manual clock outruns the 15-minute ones). */
async function call(who: Tracker, method: string, path: string, body?: unknown) {
  await reauth(t, who);
  const res = await t.app.request(path, {
    method,
    headers: { ...who.auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, type: res.headers.get("content-type") };
}

async function ok(who: Tracker, method: string, path: string, body?: unknown, status = 200) {
  const r = await call(who, method, path, body);
  if (r.status !== status) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function runDetect() {
  const out = await t.services.jobs.run("idle.detect", { trigger: "manual" });
  if (out.status !== "succeeded") throw new Error(JSON.stringify(out));
  await t.platform.drain();
  return JSON.parse(out.run.result ?? "{}") as Record<string, number>;
}

const periods = (memberId: string) =>
  t.platform.db
    .select()
    .from(idlePeriods)
    .where(eq(idlePeriods.memberId, memberId))
    .orderBy(asc(idlePeriods.startAt));
const entriesOf = (memberId: string) =>
  t.platform.db
    .select()
    .from(timeEntries)
    .where(eq(timeEntries.memberId, memberId))
    .orderBy(asc(timeEntries.startAt), asc(timeEntries.createdAt));

function capture(...types: string[]) {
  const seen: DomainEvent[] = [];
  const offs = types.map((type) => t.services.events.on(type as "idle.detected", (e) => void seen.push(e)));
  return {
    seen,
    off: () => {
      for (const f of offs) f();
    },
  };
}

/** A billable project of the member's organization (members cannot create projects themselves). */
async function insertProject(who: Tracker): Promise<string> {
  const id = newId("project");
  const now = t.clock.now();
  await t.platform.db.insert(projects).values({
    id,
    orgId: who.orgId,
    name: `P-${id.slice(-6)}`,
    color: "#336699",
    billable: true,
    createdAt: now,
    updatedAt: now,
  });
  return id;
}

/**
 * Ana starts a timer at 09:00 (project, tags), works with input until 09:10, then her agent keeps
 * reporting idle heartbeats (screen on, nobody at it) every 5 minutes until `idleUntil`.
 */
async function idleMorning(who: Tracker, idleUntil: number) {
  const project = await insertProject(who);
  const timer = await ok(
    who,
    "POST",
    "/api/v1/timer/start",
    { description: "Writing the spec", projectId: project },
    201,
  );
  t.clock.set(at(10));
  await ingest(t, who, [hb(T0, { duration: 600, keyboard: 40, mouse: 12 })]);
  for (let m = 10; m < idleUntil; m += 5) {
    t.clock.set(at(m + 5));
    await ingest(t, who, [hb(at(m).getTime(), { duration: 300, idle: true, keyboard: 0, mouse: 0 })]);
  }
  return timer as { id: string };
}

describe("idle.detect: alerts", () => {
  test("no input for idleAlertSeconds while a timer runs raises one idle period and one alert", async () => {
    const ana = await tracker(t);
    const { seen, off } = capture("idle.detected");
    const timer = await idleMorning(ana, 39);
    t.clock.set(at(39).getTime() + 59_000); // 29:59 since the last input (09:10)
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 0 });
    t.clock.set(at(40)); // 30:00
    expect(await runDetect()).toEqual({ detected: 1, ended: 0, withdrawn: 0, missed: 0 });
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 0 }); // not twice
    off();

    const [p] = await periods(ana.memberId);
    if (!p) throw new Error("no idle period");
    expect(p).toMatchObject({
      entryId: timer.id,
      startAt: at(10),
      endAt: null,
      status: "open",
      detectedAt: at(40),
    });
    expect(seen.map((e) => [e.orgId, e.actor, e.payload])).toEqual([
      [
        ana.orgId,
        "system",
        {
          idlePeriodId: p?.id,
          memberId: ana.memberId,
          userId: ana.userId,
          entryId: timer.id,
          startAt: iso(10),
          idleSeconds: 1800,
        },
      ],
    ]);
    // The alert is durable: its outbox row (mail consumer) was written with the period.
    const outbox = await t.platform.db
      .select()
      .from(outboxEvents)
      .where(eq(outboxEvents.type, "idle.detected"));
    expect(outbox.map((o) => o.consumer)).toEqual(["mail.idle-alert"]);

    // The member (and their agent) see it, ongoing, growing.
    t.clock.set(at(45));
    const list = await ok(ana, "GET", "/api/v1/idle-periods?status=open");
    expect(list).toEqual({
      data: [
        {
          id: p?.id,
          memberId: ana.memberId,
          entryId: timer.id,
          start: iso(10),
          end: null,
          ongoing: true,
          durationSeconds: 35 * 60,
          status: "open",
          detectedAt: iso(40),
          resolvedAt: null,
          resolvedBy: null,
          newEntryId: null,
        },
      ],
      nextCursor: null,
    });
    const viaAgent = await t.app.request("/api/v1/idle-periods", { headers: ana.agent });
    expect(viaAgent.status).toBe(200);
    expect(((await viaAgent.json()) as { data: { id: string }[] }).data.map((d) => d.id)).toEqual([
      p?.id as string,
    ]);
  });

  test("what counts as input: idle heartbeats and zero keyboard/mouse counts do not; the org's threshold applies", async () => {
    const ana = await tracker(t);
    const bob = await tracker(t, "member", { orgId: ana.orgId });
    await setSettings(t, ana.orgId, { idleAlertSeconds: 600 });
    await ok(ana, "POST", "/api/v1/timer/start", {}, 201);
    await ok(bob, "POST", "/api/v1/timer/start", {}, 201);
    t.clock.set(at(12));
    // Ana: a heartbeat with counters at zero (no input) at 09:05. Bob: input at 09:05 (no counters sent).
    await ingest(t, ana, [
      hb(at(0).getTime(), { duration: 60, keyboard: 3 }),
      hb(at(5).getTime(), { duration: 60, keyboard: 0, mouse: 0 }),
    ]);
    await ingest(t, bob, [hb(at(5).getTime(), { duration: 60, keyboard: null, mouse: null })]);
    expect(await runDetect()).toEqual({ detected: 1, ended: 0, withdrawn: 0, missed: 0 }); // Ana: 11 min since 09:01
    expect((await periods(ana.memberId)).map((p) => p.startAt)).toEqual([at(1)]);
    expect(await periods(bob.memberId)).toEqual([]);
    t.clock.set(at(16));
    expect(await runDetect()).toEqual({ detected: 1, ended: 0, withdrawn: 0, missed: 0 }); // Bob: 10 min since 09:06
    expect((await periods(bob.memberId)).map((p) => p.startAt)).toEqual([at(6)]);
  });

  test("only running timers of members with an agent; a timer started while idle counts from its start", async () => {
    const ana = await tracker(t);
    const webOnly = await tracker(t, "member", { orgId: ana.orgId });
    await ingest(t, ana, [hb(at(-60).getTime(), { duration: 60, keyboard: 1 })]); // last input an hour ago
    await ok(webOnly, "POST", "/api/v1/timer/start", {}, 201); // no agent, no presence: never judged
    t.clock.set(at(5));
    await ok(ana, "POST", "/api/v1/timer/start", {}, 201); // started from the web at 09:05
    t.clock.set(at(34));
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 0 });
    t.clock.set(at(35));
    expect(await runDetect()).toEqual({ detected: 1, ended: 0, withdrawn: 0, missed: 0 });
    expect((await periods(ana.memberId)).map((p) => p.startAt)).toEqual([at(5)]);
    expect(await periods(webOnly.memberId)).toEqual([]);
  });

  test("ends at the first input after it; idle again, a new period; a stopped timer ends it; withdrawn when late input shrinks it or the entry goes", async () => {
    const ana = await tracker(t);
    const { seen, off } = capture("idle.ended");
    const timer = await idleMorning(ana, 45);
    expect(await runDetect()).toMatchObject({ detected: 1 });
    // 09:47 Ana is back: input from 09:47:30 on.
    t.clock.set(at(50));
    await ingest(t, ana, [
      hb(at(47.5).getTime(), { duration: 150, mouse: 9 }),
      hb(at(45).getTime(), { duration: 150, idle: true }),
    ]);
    expect(await runDetect()).toEqual({ detected: 0, ended: 1, withdrawn: 0, missed: 0 });
    const [first] = await periods(ana.memberId);
    expect(first).toMatchObject({ startAt: at(10), endAt: at(47.5), status: "open" });

    // Idle again from 09:50 while the timer runs; she stops the timer from her phone at 10:30.
    for (let m = 50; m < 85; m += 5) {
      t.clock.set(at(m + 5));
      await ingest(t, ana, [hb(at(m).getTime(), { duration: 300, idle: true })]);
    }
    t.clock.set(at(80));
    expect(await runDetect()).toMatchObject({ detected: 1 });
    t.clock.set(at(90));
    await ok(ana, "POST", "/api/v1/timer/stop");
    expect(await runDetect()).toEqual({ detected: 0, ended: 1, withdrawn: 0, missed: 0 });
    expect((await periods(ana.memberId)).map((p) => [p.startAt, p.endAt])).toEqual([
      [at(10), at(47.5)],
      [at(50), at(90)],
    ]);

    // A new timer; the agent went offline at 10:31 with input until then, detected at 11:01 …
    await ok(ana, "POST", "/api/v1/timer/start", {}, 201);
    t.clock.set(at(92));
    await ingest(t, ana, [hb(at(90).getTime(), { duration: 60, keyboard: 2 })]);
    t.clock.set(at(121));
    expect(await runDetect()).toMatchObject({ detected: 1 });
    // … then it uploads what it buffered: input at 10:45, so only 14 minutes were idle: withdrawn.
    await ingest(t, ana, [hb(at(105).getTime(), { duration: 60, keyboard: 5 })]);
    t.clock.set(at(122));
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 1, missed: 0 });
    expect((await periods(ana.memberId)).map((p) => p.startAt)).toEqual([at(10), at(50)]);
    // Idle from 10:46: a new period; then the entry is deleted: withdrawn too.
    t.clock.set(at(136));
    expect(await runDetect()).toMatchObject({ detected: 1 });
    const running = await ok(ana, "GET", "/api/v1/timer");
    await ok(ana, "DELETE", `/api/v1/time-entries/${running.timer.id}`, undefined, 204);
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 1, missed: 0 });
    expect(await periods(ana.memberId)).toHaveLength(2);
    off();
    expect(seen.map((e) => e.payload)).toEqual([
      {
        idlePeriodId: first?.id,
        memberId: ana.memberId,
        entryId: timer.id,
        startAt: iso(10),
        endAt: iso(47.5),
        withdrawn: false,
      },
      expect.objectContaining({ startAt: iso(50), endAt: iso(90), withdrawn: false }),
      expect.objectContaining({ startAt: iso(91), endAt: null, withdrawn: true }),
      expect.objectContaining({ startAt: iso(106), endAt: null, withdrawn: true }),
    ]);
  });
});

describe("idle.detect: idle time that ended before a run saw it", () => {
  test("back less than a minute past the threshold, between two runs: found ended, both events, no email, resolvable", async () => {
    const ana = await tracker(t);
    await setSettings(t, ana.orgId, { idleAlertEmail: true });
    const timer = await idleMorning(ana, 40);
    t.clock.set(at(39).getTime() + 59_000); // 29:59 idle: nothing yet
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 0 });
    // Back at 09:40:30 (30:30 idle); the next run, at 09:41, no longer sees anyone idle.
    t.clock.set(at(41));
    await ingest(t, ana, [hb(at(40.5).getTime(), { duration: 30, keyboard: 3 })]);
    const { seen, off } = capture("idle.detected", "idle.ended");
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 1 });
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 0 }); // not twice
    off();
    const [p] = await periods(ana.memberId);
    if (!p) throw new Error("no idle period");
    expect(p).toMatchObject({
      entryId: timer.id,
      startAt: at(10),
      endAt: at(40.5),
      status: "open",
      detectedAt: at(41),
    });
    const scope = { idlePeriodId: p.id, memberId: ana.memberId, entryId: timer.id, startAt: iso(10) };
    expect(seen.map((e) => [e.type, e.orgId, e.actor, e.payload])).toEqual([
      ["idle.detected", ana.orgId, "system", { ...scope, userId: ana.userId, idleSeconds: 30 * 60 + 30 }],
      ["idle.ended", ana.orgId, "system", { ...scope, endAt: iso(40.5), withdrawn: false }],
    ]);
    // The alert's outbox row committed with the period; delivered, it sends nothing: she is back.
    const outbox = await t.platform.db.select().from(outboxEvents);
    expect(outbox.filter((r) => r.type.startsWith("idle.")).map((r) => r.type)).toEqual(["idle.detected"]);
    expect(await mailTo(t, ana.email, "idle_alert")).toEqual([]); // she is back: no alert email
    expect(await ok(ana, "GET", `/api/v1/idle-periods/${p.id}`)).toMatchObject({
      start: iso(10),
      end: iso(40.5),
      ongoing: false,
      durationSeconds: 30 * 60 + 30,
      status: "open",
    });
    await ok(ana, "POST", `/api/v1/idle-periods/${p.id}/resolve`, { action: "discard" });
    expect((await entriesOf(ana.memberId)).map((r) => [r.startAt, r.endAt])).toEqual([
      [at(0), at(10)],
      [at(40.5), null],
    ]);
  });

  test("while the detector did not run: found from its previous run on; a stopped or later-started timer bounds it; short gaps are not idle", async () => {
    const ana = await tracker(t);
    const bob = await tracker(t, "member", { orgId: ana.orgId });
    const cy = await tracker(t, "member", { orgId: ana.orgId });
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 0 }); // 09:00, then down
    // Ana: idle 09:10–10:00 in a running timer, then works. Bob: idle from 09:10, his timer stopped
    // from his phone at 09:45, back at 10:00 (35 minutes of his entry). Cy: a 29-minute gap only.
    const timer = await idleMorning(ana, 60);
    t.clock.set(T0);
    await idleMorning(bob, 60);
    t.clock.set(at(45));
    const bobs = await ok(bob, "POST", "/api/v1/timer/stop");
    t.clock.set(T0);
    await idleMorning(cy, 39);
    t.clock.set(at(61));
    await ingest(t, ana, [hb(at(60).getTime(), { duration: 60, keyboard: 4 })]);
    await ingest(t, bob, [hb(at(60).getTime(), { duration: 60, mouse: 4 })]);
    await ingest(t, cy, [hb(at(39).getTime(), { duration: 60, mouse: 4 })]);
    for (const who of [ana, bob, cy]) {
      for (let m = 61; m < 120; m += 1) {
        t.clock.set(at(m + 1));
        await ingest(t, who, [hb(at(m).getTime(), { duration: 60, keyboard: 1 })]);
      }
    }
    t.clock.set(at(120)); // 11:00: the detector runs again; nobody is idle now
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 2 });
    expect(await periods(ana.memberId)).toEqual([
      expect.objectContaining({ entryId: timer.id, startAt: at(10), endAt: at(60), status: "open" }),
    ]);
    expect(await periods(bob.memberId)).toEqual([
      expect.objectContaining({ entryId: bobs.id, startAt: at(10), endAt: at(45), status: "open" }),
    ]);
    expect(await periods(cy.memberId)).toEqual([]);
    t.clock.set(at(121));
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 0 });
    await ok(cy, "POST", "/api/v1/timer/stop");

    // Ana, away since 11:00, starts a timer at 11:25 from her phone (her first one stops: 25 idle
    // minutes in it, under the threshold) and is back at 12:10: idle in the new one from 11:25.
    t.clock.set(at(145));
    const later = await ok(ana, "POST", "/api/v1/timer/start", {}, 201);
    t.clock.set(at(191));
    await ingest(t, ana, [hb(at(190).getTime(), { duration: 60, keyboard: 1 })]);
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 1 });
    expect((await periods(ana.memberId)).map((p) => [p.entryId, p.startAt, p.endAt])).toEqual([
      [timer.id, at(10), at(60)],
      [later.id, at(145), at(190)],
    ]);
  });
});

describe("idle.detect: missed idle time, what it must not find and how far it looks", () => {
  test("a resolved period's rewritten entries and a manual entry logged afterwards give no new period", async () => {
    const ana = await tracker(t);
    const bob = await tracker(t, "member", { orgId: ana.orgId });
    await idleMorning(ana, 40);
    t.clock.set(at(40));
    expect(await runDetect()).toMatchObject({ detected: 1 });
    t.clock.set(at(51));
    await ingest(t, ana, [hb(at(50).getTime(), { duration: 60, keyboard: 7 })]);
    expect(await runDetect()).toEqual({ detected: 0, ended: 1, withdrawn: 0, missed: 0 });
    const [p] = await periods(ana.memberId);
    await ok(ana, "POST", `/api/v1/idle-periods/${p?.id}/resolve`, { action: "split" });
    // Bob, no timer, away in a meeting 09:10–09:50, logs it by hand when he is back.
    t.clock.set(at(10));
    await ingest(t, bob, [hb(T0, { duration: 600, keyboard: 40 })]);
    t.clock.set(at(51));
    await ingest(t, bob, [hb(at(50).getTime(), { duration: 60, keyboard: 7 })]);
    await ok(
      bob,
      "POST",
      "/api/v1/time-entries",
      { start: iso(10), end: iso(50), description: "Meeting" },
      201,
    );
    t.clock.set(at(52));
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 0 });
    expect(await periods(ana.memberId)).toHaveLength(1);
    expect(await periods(bob.memberId)).toEqual([]);
  });

  test("an agent clock ahead of the server: the period is not withdrawn at the return, one alert only", async () => {
    const ana = await tracker(t);
    const { seen, off } = capture("idle.detected", "idle.ended");
    await ok(ana, "POST", "/api/v1/timer/start", {}, 201);
    // At 09:10 (server) the agent reports input until 09:10:30 by its clock: presence counts 09:10.
    t.clock.set(at(10));
    await ingest(t, ana, [hb(at(9.5).getTime(), { duration: 60, keyboard: 4 })]);
    for (let m = 10; m < 45; m += 5) {
      t.clock.set(at(m + 5));
      await ingest(t, ana, [hb(at(m + 0.5).getTime(), { duration: 300, idle: true })]);
    }
    t.clock.set(at(40));
    expect(await runDetect()).toMatchObject({ detected: 1 });
    t.clock.set(at(51));
    await ingest(t, ana, [hb(at(50).getTime(), { duration: 60, keyboard: 7 })]);
    expect(await runDetect()).toEqual({ detected: 0, ended: 1, withdrawn: 0, missed: 0 });
    off();
    expect((await periods(ana.memberId)).map((p) => [p.startAt, p.endAt])).toEqual([[at(10), at(50)]]);
    expect(seen.map((e) => e.type)).toEqual(["idle.detected", "idle.ended"]);
  });

  test("the gap starts at the latest end of earlier input, deleted entries give none, late uploads within the margin count", async () => {
    const ana = await tracker(t);
    const bob = await tracker(t, "member", { orgId: ana.orgId });
    expect(await runDetect()).toMatchObject({ missed: 0 }); // 09:00
    await ok(ana, "POST", "/api/v1/timer/start", {}, 201);
    const bobs = await ok(bob, "POST", "/api/v1/timer/start", {}, 201);
    // Ana: a 15-minute heartbeat from 09:00 and a short one at 09:05: her input ends at 09:15.
    t.clock.set(at(16));
    await ingest(t, ana, [
      hb(T0, { duration: 900, keyboard: 90 }),
      hb(at(5).getTime(), { duration: 60, keyboard: 3 }),
    ]);
    await ingest(t, bob, [hb(at(14).getTime(), { duration: 60, keyboard: 3 })]);
    expect(await runDetect()).toMatchObject({ missed: 0 }); // 09:16, then down until 09:55
    // Both back at 09:50; Bob's entry is deleted meanwhile. Ana stops her timer from her phone at
    // 09:52, so the run at 09:55 has no running timer to look at, and her agent uploads her return
    // at 10:00 only: after that run, within its 10-minute margin.
    t.clock.set(at(51));
    await ingest(t, bob, [hb(at(50).getTime(), { duration: 60, keyboard: 3 })]);
    await ok(bob, "DELETE", `/api/v1/time-entries/${bobs.id}`, undefined, 204);
    t.clock.set(at(52));
    const anas = await ok(ana, "POST", "/api/v1/timer/stop");
    t.clock.set(at(55));
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 0 });
    t.clock.set(at(60));
    await ingest(t, ana, [hb(at(50).getTime(), { duration: 60, keyboard: 3 })]);
    t.clock.set(at(61));
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 1 });
    expect((await periods(ana.memberId)).map((p) => [p.entryId, p.startAt, p.endAt])).toEqual([
      [anas.id, at(15), at(50)],
    ]);
    expect(await periods(bob.memberId)).toEqual([]);
  });

  test("entries edited to overlap: one idle period for one stretch of idle time, in that run and the next", async () => {
    const ana = await tracker(t);
    const first = await ok(ana, "POST", "/api/v1/timer/start", {}, 201);
    t.clock.set(at(10));
    await ingest(t, ana, [hb(T0, { duration: 600, keyboard: 40 })]);
    // Away from 09:10. A script restarts her timer at 09:15 (the first stops there) …
    t.clock.set(at(15));
    await ok(ana, "POST", "/api/v1/timer/start", {}, 201);
    // … back at 09:50, she edits the first entry to end at 09:45: both cover 09:15–09:45 (allowed).
    t.clock.set(at(51));
    await ingest(t, ana, [hb(at(50).getTime(), { duration: 60, keyboard: 3 })]);
    await ok(ana, "PATCH", `/api/v1/time-entries/${first.id}`, { end: iso(45) });
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 1 });
    t.clock.set(at(52));
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 0 });
    expect((await periods(ana.memberId)).map((p) => [p.entryId, p.startAt, p.endAt])).toEqual([
      [first.id, at(10), at(45)],
    ]);
  });

  test("a catch-up that finds more than one query's worth stores them all", async () => {
    const ana = await tracker(t);
    const bob = await tracker(t, "member", { orgId: ana.orgId });
    await setSettings(t, ana.orgId, { idleAlertSeconds: 60 });
    await ok(ana, "POST", "/api/v1/timer/start", {}, 201);
    await ok(bob, "POST", "/api/v1/timer/start", {}, 201);
    expect(await runDetect()).toMatchObject({ missed: 0 }); // 09:00, then down for ten hours
    // Input for a second every two minutes: 300 gaps of 1:59 each, for both.
    t.clock.set(at(600).getTime() + 30_000);
    for (const who of [ana, bob])
      await ingest(
        t,
        who,
        Array.from({ length: 301 }, (_, k) => hb(at(2 * k).getTime(), { duration: 1, keyboard: 1 })),
      );
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 600 });
    expect(await periods(ana.memberId)).toHaveLength(300);
    expect((await periods(bob.memberId)).at(-1)).toMatchObject({
      startAt: new Date(at(598).getTime() + 1000),
      endAt: at(600),
    });
  }, 60_000);
});

describe("idle alert email", () => {
  test("sent to the member when the organization turned idleAlertEmail on, with a link to the period", async () => {
    const ana = await tracker(t);
    const bob = await tracker(t);
    // Ana's admin turns the emails on (members cannot).
    const admin = await tracker(t, "admin", { orgId: ana.orgId });
    expect((await call(ana, "PATCH", "/api/v1/settings/tracking", { idleAlertEmail: true })).status).toBe(
      403,
    );
    const saved = await ok(admin, "PATCH", "/api/v1/settings/tracking", { idleAlertEmail: true });
    expect(saved.idleAlertEmail).toBe(true);
    expect((await ok(ana, "GET", "/api/v1/settings/tracking")).idleAlertEmail).toBe(true);
    await idleMorning(ana, 40);
    t.clock.set(T0);
    await idleMorning(bob, 40); // Bob's organization keeps the default: no email
    t.clock.set(at(40));
    expect(await runDetect()).toMatchObject({ detected: 2 });
    const [p] = await periods(ana.memberId);
    const mails = await mailTo(t, ana.email, "idle_alert");
    expect(mails).toHaveLength(1);
    expect(mails[0]?.subject).toBe("Your TeamTrack timer is running while you are away");
    expect(mails[0]?.text).toContain("no activity for 30 minutes (since 09:10 UTC)");
    expect(mails[0]?.text).toContain('"P-');
    expect(mails[0]?.text).toContain(`https://app.teamtrack.test/idle-periods/${p?.id}`);
    expect(mails[0]?.html).toContain(`https://app.teamtrack.test/idle-periods/${p?.id}`);
    expect(await mailTo(t, bob.email, "idle_alert")).toEqual([]);
  });

  /**
   * Ana's alert (emails on) with the in-process delivery held back; `meanwhile` runs before the
   * outbox row is delivered, and the delivery must send no mail.
   */
  async function alertDeliveredAfter(meanwhile: (ana: Tracker) => Promise<void>) {
    const ana = await tracker(t);
    await setSettings(t, ana.orgId, { idleAlertEmail: true });
    await idleMorning(ana, 40);
    t.clock.set(at(40));
    const relay = t.services.events.relay.bind(t.services.events);
    t.services.events.relay = async () => ({ delivered: 0, failed: 0, dead: 0 });
    expect(await runDetect()).toMatchObject({ detected: 1 });
    await meanwhile(ana);
    t.services.events.relay = relay;
    expect(await t.services.events.relay()).toMatchObject({ delivered: 1, failed: 0 }); // the alert's row, no mail
    expect(await mailTo(t, ana.email, "idle_alert")).toEqual([]);
  }

  test("none when the member is back before the alert is delivered", async () => {
    await alertDeliveredAfter(async (ana) => {
      t.clock.set(at(42));
      await ingest(t, ana, [hb(at(41).getTime(), { duration: 60, keyboard: 2 })]);
      expect(await runDetect()).toMatchObject({ ended: 1 });
    });
  });

  test("none when the member resolved it before the alert is delivered", async () => {
    await alertDeliveredAfter(async (ana) => {
      const [p] = await periods(ana.memberId);
      await ok(ana, "POST", `/api/v1/idle-periods/${p?.id}/resolve`, { action: "keep" });
    });
  });
});

describe("resolving idle time", () => {
  /** Ana idle 09:10–09:50 inside a timer started 09:00; detected, then back at 09:50. */
  async function endedIdle(who: Tracker) {
    const timer = await idleMorning(who, 40);
    t.clock.set(at(40));
    await runDetect();
    t.clock.set(at(55));
    await ingest(t, who, [hb(at(50).getTime(), { duration: 300, keyboard: 7 })]);
    await runDetect();
    const [p] = await periods(who.memberId);
    expect(p).toMatchObject({ startAt: at(10), endAt: at(50) });
    return { timer, period: p as NonNullable<typeof p> };
  }

  test("keep: nothing changes but the period's status", async () => {
    const ana = await tracker(t);
    const { timer, period } = await endedIdle(ana);
    const before = await entriesOf(ana.memberId);
    const out = await ok(ana, "POST", `/api/v1/idle-periods/${period.id}/resolve`, { action: "keep" });
    expect(out.idlePeriod).toMatchObject({
      status: "kept",
      resolvedAt: iso(55),
      resolvedBy: ana.userId,
      newEntryId: null,
    });
    expect(out.entries.map((e: { id: string }) => e.id)).toEqual([timer.id]);
    expect(await entriesOf(ana.memberId)).toEqual(before);
  });

  test("discard in a running timer: the entry ends at 09:10, the time from 09:50 runs on in a new entry like it", async () => {
    const ana = await tracker(t);
    const tag = newId("tag");
    await t.platform.db
      .insert(tags)
      .values({ id: tag, orgId: ana.orgId, name: "deep-work", createdAt: at(0), updatedAt: at(0) });
    const { timer, period } = await endedIdle(ana);
    await ok(ana, "PATCH", `/api/v1/time-entries/${timer.id}`, { tagIds: [tag] });
    const { seen, off } = capture("timer.stopped", "timer.started", "time_entry.updated", "idle.resolved");
    const out = await ok(ana, "POST", `/api/v1/idle-periods/${period.id}/resolve`, { action: "discard" });
    off();
    const rows = await entriesOf(ana.memberId);
    expect(rows.map((r) => [r.startAt, r.endAt, r.flag, r.deletedAt])).toEqual([
      [at(0), at(10), null, null],
      [at(50), null, null, null],
    ]);
    const [kept, after] = rows;
    expect(kept?.id).toBe(timer.id);
    expect(after).toMatchObject({
      projectId: kept?.projectId,
      description: "Writing the spec",
      billable: kept?.billable,
      source: "timer",
      createdBy: ana.userId,
    });
    const tagsOf = async (id: string) =>
      (await t.platform.db.select().from(timeEntryTags).where(eq(timeEntryTags.entryId, id))).map(
        (r) => r.tagId,
      );
    expect(await tagsOf(after?.id as string)).toEqual([tag]);
    expect(await tagsOf(timer.id)).toEqual([tag]);
    expect(out.idlePeriod).toMatchObject({
      status: "discarded",
      start: iso(10),
      end: iso(50),
      newEntryId: after?.id,
    });
    expect(
      out.entries.map((e: { id: string; end: string | null; running: boolean }) => [e.id, e.end, e.running]),
    ).toEqual([
      [timer.id, iso(10), false],
      [after?.id, null, true],
    ]);
    expect(seen.map((e) => e.type).sort()).toEqual([
      "idle.resolved",
      "time_entry.updated",
      "timer.started",
      "timer.stopped",
    ]);
    expect(seen.find((e) => e.type === "idle.resolved")?.payload).toEqual({
      idlePeriodId: period.id,
      memberId: ana.memberId,
      entryId: timer.id,
      action: "discard",
      startAt: iso(10),
      endAt: iso(50),
      createdEntryIds: [after?.id as string],
    });
    // The running timer is the new entry.
    expect((await ok(ana, "GET", "/api/v1/timer")).timer.id).toBe(after?.id);
  });

  test("split a stopped entry: before, the idle time (flagged idle_time) and after, as three entries", async () => {
    const ana = await tracker(t);
    const { timer, period } = await endedIdle(ana);
    t.clock.set(at(70));
    await ok(ana, "POST", "/api/v1/timer/stop");
    const out = await ok(ana, "POST", `/api/v1/idle-periods/${period.id}/resolve`, { action: "split" });
    const rows = await entriesOf(ana.memberId);
    expect(rows.map((r) => [r.startAt, r.endAt, r.flag])).toEqual([
      [at(0), at(10), null],
      [at(10), at(50), "idle_time"],
      [at(50), at(70), null],
    ]);
    expect(rows[0]?.id).toBe(timer.id);
    expect(out.idlePeriod).toMatchObject({ status: "split", newEntryId: rows[1]?.id });
    // Nothing lost: the three add up to the original 70 minutes.
    const total = rows.reduce((s, r) => s + ((r.endAt?.getTime() ?? 0) - r.startAt.getTime()), 0);
    expect(total).toBe(70 * MIN);
  });

  test("discard while the member is still idle stops the timer where the idle time began; split is refused then", async () => {
    const ana = await tracker(t);
    const timer = await idleMorning(ana, 40);
    t.clock.set(at(40));
    await runDetect();
    const [p] = await periods(ana.memberId);
    t.clock.set(at(42));
    const refused = await call(ana, "POST", `/api/v1/idle-periods/${p?.id}/resolve`, { action: "split" });
    expect([refused.status, refused.body.code, refused.type]).toEqual([
      409,
      "IDLE_PERIOD_ONGOING",
      "application/problem+json",
    ]);
    expect(await periods(ana.memberId)).toEqual([p as NonNullable<typeof p>]);

    const out = await ok(ana, "POST", `/api/v1/idle-periods/${p?.id}/resolve`, { action: "discard" });
    expect(out.idlePeriod).toMatchObject({
      status: "discarded",
      start: iso(10),
      end: iso(42),
      ongoing: false,
    });
    expect((await entriesOf(ana.memberId)).map((r) => [r.id, r.startAt, r.endAt])).toEqual([
      [timer.id, at(0), at(10)],
    ]);
    // No timer runs any more: nothing to detect, nothing to end.
    t.clock.set(at(90));
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 0 });
  });

  test("an entry that was all idle time is deleted by discard; an edited entry that no longer covers it: 409, keep still works", async () => {
    const ana = await tracker(t);
    const { timer, period } = await endedIdle(ana);
    t.clock.set(at(60));
    await ok(ana, "POST", "/api/v1/timer/stop");
    await ok(ana, "PATCH", `/api/v1/time-entries/${timer.id}`, { start: iso(55) });
    for (const action of ["discard", "split"]) {
      const r = await call(ana, "POST", `/api/v1/idle-periods/${period.id}/resolve`, { action });
      expect([r.status, r.body.code]).toEqual([409, "IDLE_PERIOD_NOT_IN_ENTRY"]);
    }
    expect(
      (await ok(ana, "POST", `/api/v1/idle-periods/${period.id}/resolve`, { action: "keep" })).idlePeriod
        .status,
    ).toBe("kept");

    // Another day: an entry 14:00–14:40 that was idle from its start to its end.
    const bob = await tracker(t);
    const entry = await ok(bob, "POST", "/api/v1/time-entries", { start: iso(300), end: iso(340) }, 201);
    const id = "idl_manual_0001";
    await t.platform.db.insert(idlePeriods).values({
      id,
      orgId: bob.orgId,
      memberId: bob.memberId,
      entryId: entry.id,
      startAt: at(290),
      endAt: at(350),
      detectedAt: at(330),
      createdAt: at(330),
      updatedAt: at(330),
    });
    const out = await ok(bob, "POST", `/api/v1/idle-periods/${id}/resolve`, { action: "discard" });
    expect(out.entries).toEqual([]);
    expect(out.idlePeriod).toMatchObject({
      id,
      status: "discarded",
      start: iso(290),
      end: iso(350),
      resolvedBy: bob.userId,
    });
    expect((await entriesOf(bob.memberId))[0]?.deletedAt).not.toBeNull();
    // The period went with its entry.
    expect((await call(bob, "GET", `/api/v1/idle-periods/${id}`)).status).toBe(404);
  });

  test("resolving before the job has recorded the end: the member is back, so discard keeps the timer running from the first input", async () => {
    const ana = await tracker(t);
    const timer = await idleMorning(ana, 40);
    t.clock.set(at(40));
    await runDetect();
    // Back at 09:50; no job run since, so the period is still stored as ongoing.
    t.clock.set(at(55));
    await ingest(t, ana, [hb(at(50).getTime(), { duration: 300, keyboard: 7 })]);
    expect((await periods(ana.memberId))[0]?.endAt).toBeNull();
    const [p] = await periods(ana.memberId);
    const out = await ok(ana, "POST", `/api/v1/idle-periods/${p?.id}/resolve`, { action: "discard" });
    expect(out.idlePeriod).toMatchObject({
      status: "discarded",
      start: iso(10),
      end: iso(50),
      ongoing: false,
    });
    const rows = await entriesOf(ana.memberId);
    expect(rows.map((r) => [r.id === timer.id, r.startAt, r.endAt])).toEqual([
      [true, at(0), at(10)],
      [false, at(50), null],
    ]);
    expect(out.idlePeriod.newEntryId).toBe(rows[1]?.id as string);
    // The job finds nothing left to end.
    expect(await runDetect()).toEqual({ detected: 0, ended: 0, withdrawn: 0, missed: 0 });
  });

  test("a period kept while it ran is a record: late heartbeats never withdraw it, the job ends it", async () => {
    const ana = await tracker(t);
    await idleMorning(ana, 40);
    t.clock.set(at(40));
    await runDetect();
    const [p] = await periods(ana.memberId);
    await ok(ana, "POST", `/api/v1/idle-periods/${p?.id}/resolve`, { action: "keep" });
    // The agent uploads input from 09:20 it had buffered: for an open period that would withdraw it.
    t.clock.set(at(41));
    await ingest(t, ana, [hb(at(20).getTime(), { duration: 60, keyboard: 3 })]);
    expect(await runDetect()).toEqual({ detected: 0, ended: 1, withdrawn: 0, missed: 0 });
    expect((await periods(ana.memberId)).map((x) => [x.id, x.status, x.startAt, x.endAt])).toEqual([
      [p?.id as string, "kept", at(10), at(20)],
    ]);
  });

  test("an open period that late heartbeats shrink below the threshold is refused for resolution (409 IDLE_PERIOD_WITHDRAWN), then withdrawn", async () => {
    const ana = await tracker(t);
    await idleMorning(ana, 40);
    t.clock.set(at(40));
    await runDetect();
    const [p] = await periods(ana.memberId);
    // A late heartbeat that began before the idle start (09:08) and ran to 09:14, with input.
    await ingest(t, ana, [hb(at(8).getTime(), { duration: 360, mouse: 4 })]);
    const r = await call(ana, "POST", `/api/v1/idle-periods/${p?.id}/resolve`, { action: "keep" });
    expect([r.status, r.body.code]).toEqual([409, "IDLE_PERIOD_WITHDRAWN"]);
    expect(await runDetect()).toMatchObject({ withdrawn: 1, missed: 0 });
  });

  test("the entry's own flag (stale_timer) stays with the piece that keeps its end", async () => {
    const ana = await tracker(t);
    const { timer, period } = await endedIdle(ana);
    t.clock.set(at(70));
    await ok(ana, "POST", "/api/v1/timer/stop");
    await t.platform.db.update(timeEntries).set({ flag: "stale_timer" }).where(eq(timeEntries.id, timer.id));
    await ok(ana, "POST", `/api/v1/idle-periods/${period.id}/resolve`, { action: "split" });
    expect((await entriesOf(ana.memberId)).map((r) => [r.startAt, r.endAt, r.flag])).toEqual([
      [at(0), at(10), null],
      [at(10), at(50), "idle_time"],
      [at(50), at(70), "stale_timer"],
    ]);
  });

  test("resolved once: a second resolution (or two at once) gets 409 IDLE_PERIOD_RESOLVED and changes nothing", async () => {
    const ana = await tracker(t);
    const { period } = await endedIdle(ana);
    await reauth(t, ana);
    const send = () =>
      t.app.request(`/api/v1/idle-periods/${period.id}/resolve`, {
        method: "POST",
        headers: { ...ana.auth, "content-type": "application/json" },
        body: JSON.stringify({ action: "discard" }),
      });
    const statuses = (await Promise.all([send(), send()])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    const rows = await entriesOf(ana.memberId);
    expect(rows.map((r) => [r.startAt, r.endAt])).toEqual([
      [at(0), at(10)],
      [at(50), null],
    ]);
    const again = await call(ana, "POST", `/api/v1/idle-periods/${period.id}/resolve`, { action: "keep" });
    expect([again.status, again.body.code]).toEqual([409, "IDLE_PERIOD_RESOLVED"]);
    // The problem's own `status` stays the HTTP status (RFC 9457); the period's is `periodStatus`.
    expect(again.body).toMatchObject({ status: 409, periodStatus: "discarded" });
    expect(await entriesOf(ana.memberId)).toEqual(rows);
  });

  test("access: others' periods are 404 to a member, readable with data:read_all, resolvable with time:manage; the agent resolves its member's", async () => {
    const ana = await tracker(t);
    const mia = await tracker(t, "member", { orgId: ana.orgId });
    const boss = await tracker(t, "manager", { orgId: ana.orgId });
    const stranger = await tracker(t, "admin");
    const { period } = await endedIdle(ana);
    expect((await call(mia, "GET", `/api/v1/idle-periods/${period.id}`)).status).toBe(404);
    expect(
      (await call(mia, "POST", `/api/v1/idle-periods/${period.id}/resolve`, { action: "keep" })).status,
    ).toBe(404);
    expect((await call(mia, "GET", `/api/v1/idle-periods?memberId=${ana.memberId}`)).status).toBe(403);
    expect((await call(mia, "GET", "/api/v1/idle-periods?all=true")).status).toBe(403);
    expect((await call(stranger, "GET", `/api/v1/idle-periods/${period.id}`)).status).toBe(404);
    expect((await ok(stranger, "GET", "/api/v1/idle-periods?all=true")).data).toEqual([]);
    expect((await call(stranger, "GET", `/api/v1/idle-periods?memberId=${ana.memberId}`)).status).toBe(404);
    expect((await ok(boss, "GET", `/api/v1/idle-periods?memberId=${ana.memberId}`)).data).toHaveLength(1);
    expect((await ok(boss, "GET", "/api/v1/idle-periods?all=true&status=open")).data).toHaveLength(1);
    expect((await ok(mia, "GET", "/api/v1/idle-periods")).data).toEqual([]);

    const viaAgent = await t.app.request(`/api/v1/idle-periods/${period.id}/resolve`, {
      method: "POST",
      headers: { ...ana.agent, "content-type": "application/json" },
      body: JSON.stringify({ action: "keep" }),
    });
    expect(viaAgent.status).toBe(200);
    // Mia's agent cannot touch Ana's.
    const other = await t.app.request(`/api/v1/idle-periods/${period.id}`, { headers: mia.agent });
    expect(other.status).toBe(404);
    expect((await ok(boss, "GET", "/api/v1/idle-periods?all=true&status=open")).data).toEqual([]);
  });

  test("bad input: a clear 422 naming the field, nothing written", async () => {
    const ana = await tracker(t);
    const { period } = await endedIdle(ana);
    const before = await entriesOf(ana.memberId);
    for (const [body, field] of [
      [{ action: "forget" }, "action"],
      [{}, "action"],
      [{ action: "keep", extra: 1 }, "extra"],
    ] as const) {
      const r = await call(ana, "POST", `/api/v1/idle-periods/${period.id}/resolve`, body);
      expect([r.status, r.type]).toEqual([422, "application/problem+json"]);
      expect(JSON.stringify(r.body.errors)).toContain(field);
    }
    const q = await call(ana, "GET", "/api/v1/idle-periods?status=sleeping");
    expect(q.status).toBe(422);
    expect(JSON.stringify(q.body.errors)).toContain("status");
    expect(await entriesOf(ana.memberId)).toEqual(before);
    expect((await periods(ana.memberId))[0]?.status).toBe("open");
  });
});

describe("piecesAfter (the arithmetic of discard and split)", () => {
  const e = (start: number, end: number | null) => ({ start, end });
  test("cases", () => {
    // Inside a stopped entry.
    expect(piecesAfter(e(0, 100), e(20, 50), "discard")).toEqual([
      { start: 0, end: 20, idle: false },
      { start: 50, end: 100, idle: false },
    ]);
    expect(piecesAfter(e(0, 100), e(20, 50), "split")).toEqual([
      { start: 0, end: 20, idle: false },
      { start: 20, end: 50, idle: true },
      { start: 50, end: 100, idle: false },
    ]);
    // Running entry, ended idle time: the time after it keeps running.
    expect(piecesAfter(e(0, null), e(20, 50), "discard")).toEqual([
      { start: 0, end: 20, idle: false },
      { start: 50, end: null, idle: false },
    ]);
    // Still idle: the entry stops where the idle time began.
    expect(piecesAfter(e(0, null), e(20, null), "discard")).toEqual([{ start: 0, end: 20, idle: false }]);
    // Idle time past the entry's ends is clipped to it.
    expect(piecesAfter(e(10, 40), e(0, 30), "discard")).toEqual([{ start: 30, end: 40, idle: false }]);
    expect(piecesAfter(e(10, 40), e(20, 90), "split")).toEqual([
      { start: 10, end: 20, idle: false },
      { start: 20, end: 40, idle: true },
    ]);
    // All of it idle: nothing left.
    expect(piecesAfter(e(10, 40), e(0, 90), "discard")).toEqual([]);
    // No overlap any more.
    expect(piecesAfter(e(60, 90), e(20, 50), "discard")).toBeNull();
    expect(piecesAfter(e(0, 20), e(20, null), "discard")).toBeNull();
  });
});
