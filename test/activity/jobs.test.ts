/** The presence job (idle, offline) and stale-timer reconciliation, driven by the manual clock. */
import { describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { memberships, timeEntries } from "../../src/db/schema";
import type { DomainEvent } from "../../src/events/types";
import { newId } from "../../src/lib/ids";
import { runJob as runJobOf, type TestApp } from "../support/app";
import { freshAppEachTest, hb, ingest, setSettings, type Tracker, tracker } from "./support";

let t: TestApp;
freshAppEachTest("2026-03-02T09:00:00Z", (app) => {
  t = app;
});

const MIN = 60_000;

const runJob = (id: string) => runJobOf(t, id);

async function status(who: Tracker) {
  const [row] = await t.platform.db.select().from(memberships).where(eq(memberships.id, who.memberId));
  return row?.status;
}

function captureStatusEvents() {
  const seen: [string, string, string][] = [];
  const off = t.services.events.on("member.status_changed", (e: DomainEvent<"member.status_changed">) => {
    seen.push([e.payload.membershipId, e.payload.from, e.payload.to]);
  });
  return { seen, off };
}

describe("presence.expire (every minute)", () => {
  test("active → idle after the org's idle threshold without input → offline 5 minutes after the last heartbeat", async () => {
    const ana = await tracker(t);
    const bob = await tracker(t, "member", { orgId: ana.orgId });
    await setSettings(t, ana.orgId, { idleThresholdSeconds: 120 });
    const { seen, off } = captureStatusEvents();
    await ingest(t, ana, [hb(t.clock.now().getTime() - 30_000, { duration: 30, keyboard: 4 })]);
    await ingest(t, bob, [hb(t.clock.now().getTime() - 30_000, { duration: 30, keyboard: 4 })]);
    expect([await status(ana), await status(bob)]).toEqual(["active", "active"]);

    t.clock.advance(1 * MIN);
    // Bob keeps sending heartbeats with input; Ana's agent goes quiet.
    await ingest(t, bob, [hb(t.clock.now().getTime() - 30_000, { duration: 30, mouse: 2 })]);
    expect(await runJob("presence.expire")).toEqual({ offline: 0, idle: 0 });

    t.clock.advance(1 * MIN); // Ana: 2 min without input (threshold 120 s): idle
    await ingest(t, bob, [hb(t.clock.now().getTime() - 30_000, { duration: 30, mouse: 2 })]);
    expect(await runJob("presence.expire")).toEqual({ offline: 0, idle: 1 });
    expect([await status(ana), await status(bob)]).toEqual(["idle", "active"]);

    t.clock.advance(2 * MIN + 59_000); // 4:59 since Ana's last heartbeat: still idle
    expect(await runJob("presence.expire")).toEqual({ offline: 0, idle: 1 }); // Bob now idle (no input for 2:59)
    t.clock.advance(1_000); // 5:00: offline
    expect(await runJob("presence.expire")).toEqual({ offline: 1, idle: 0 });
    expect([await status(ana), await status(bob)]).toEqual(["offline", "idle"]);
    t.clock.advance(2 * MIN);
    expect(await runJob("presence.expire")).toEqual({ offline: 1, idle: 0 });
    expect(await runJob("presence.expire")).toEqual({ offline: 0, idle: 0 });
    off();
    expect(seen).toEqual([
      [ana.memberId, "offline", "active"],
      [bob.memberId, "offline", "active"],
      [ana.memberId, "active", "idle"],
      [bob.memberId, "active", "idle"],
      [ana.memberId, "idle", "offline"],
      [bob.memberId, "idle", "offline"],
    ]);
    // A heartbeat brings a member back.
    await ingest(t, ana, [hb(t.clock.now().getTime(), { keyboard: 1 })]);
    expect(await status(ana)).toBe("active");
  });
});

describe("timers.reconcile-stale (every 5 minutes)", () => {
  async function runningTimer(who: Tracker, start: number) {
    const id = newId("timeEntry");
    const now = t.clock.now();
    await t.platform.db.insert(timeEntries).values({
      id,
      orgId: who.orgId,
      memberId: who.memberId,
      startAt: new Date(start),
      endAt: null,
      source: "timer",
      createdAt: now,
      updatedAt: now,
    });
    return id;
  }
  const entry = async (id: string) =>
    (await t.platform.db.select().from(timeEntries).where(eq(timeEntries.id, id)))[0];

  test("a timer whose agent is silent longer than staleTimerSeconds stops at the last activity, flagged", async () => {
    const ana = await tracker(t);
    const bob = await tracker(t, "member", { orgId: ana.orgId });
    const webOnly = await tracker(t, "member", { orgId: ana.orgId });
    await setSettings(t, ana.orgId, { staleTimerSeconds: 1800 });
    const start = t.clock.now().getTime();
    const anaTimer = await runningTimer(ana, start);
    const bobTimer = await runningTimer(bob, start);
    const webTimer = await runningTimer(webOnly, start);
    // Ana's agent reports until 09:10 (last heartbeat ends 09:10:00), then stops.
    t.clock.set(start + 10 * MIN);
    await ingest(t, ana, [hb(start, { duration: 300 }), hb(start + 5 * MIN, { duration: 300 })]);
    await ingest(t, bob, [hb(start, { duration: 60 })]);
    const stopped: DomainEvent[] = [];
    const off = t.services.events.on("timer.stopped", (e) => void stopped.push(e));

    t.clock.set(start + 39 * MIN); // Ana silent 29 min: not yet
    // Bob's agent keeps reporting.
    await ingest(t, bob, [hb(start + 38 * MIN, { duration: 60 })]);
    expect(await runJob("timers.reconcile-stale")).toEqual({ stopped: 0 });

    t.clock.set(start + 41 * MIN); // Ana silent 31 min > 30 min
    expect(await runJob("timers.reconcile-stale")).toEqual({ stopped: 1 });
    expect(await entry(anaTimer)).toMatchObject({ endAt: new Date(start + 10 * MIN), flag: "stale_timer" });
    expect((await entry(bobTimer))?.endAt).toBeNull();
    // No agent, no presence: a timer started from the web is never judged by heartbeats.
    expect((await entry(webTimer))?.endAt).toBeNull();
    // Idempotent: nothing left to stop.
    expect(await runJob("timers.reconcile-stale")).toEqual({ stopped: 0 });
    off();
    expect(stopped.map((e) => e.payload)).toEqual([
      {
        orgId: ana.orgId,
        memberId: ana.memberId,
        entryId: anaTimer,
        startAt: new Date(start).toISOString(),
        endAt: new Date(start + 10 * MIN).toISOString(),
        durationSeconds: 600,
      },
    ]);
  });

  test("a timer started after the agent went quiet gets the full threshold from its start", async () => {
    const ana = await tracker(t);
    const t0 = t.clock.now().getTime();
    await ingest(t, ana, [hb(t0 - 60 * MIN, { duration: 60 })]); // agent last seen an hour ago
    const timer = await runningTimer(ana, t0); // started now, from the web
    t.clock.set(t0 + 59 * MIN); // default threshold 1 h
    expect(await runJob("timers.reconcile-stale")).toEqual({ stopped: 0 });
    t.clock.set(t0 + 61 * MIN);
    expect(await runJob("timers.reconcile-stale")).toEqual({ stopped: 1 });
    // No activity during the timer: it stops where it started, flagged for review.
    expect(await entry(timer)).toMatchObject({ endAt: new Date(t0), flag: "stale_timer" });
  });

  test("the stop is a newer version of the entry, even in the millisecond of its last change", async () => {
    const ana = await tracker(t);
    const t0 = t.clock.now().getTime();
    await ingest(t, ana, [hb(t0 - 120 * MIN, { duration: 60 })]);
    const timer = await runningTimer(ana, t0 - 90 * MIN); // last changed now (updatedAt = t0)
    expect(await runJob("timers.reconcile-stale")).toEqual({ stopped: 1 });
    // An editor holding version t0 must not overwrite the stop (optimistic check on updatedAt).
    expect((await entry(timer))?.updatedAt).toEqual(new Date(t0 + 1));
  });
});
