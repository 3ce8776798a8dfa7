/**
 * GET /api/v1/members/stats: values per member time zone (hand-computed), visibility by role, one
 * query for the whole organization (counted from the db spans of the request), the 60 s cache and
 * its invalidation by writes.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { memberships, timeEntries } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import type { MemberStatsView } from "../../src/modules/members/stats.service";
import { hb, ingest, type Tracker, tracker } from "../activity/support";
import { createTestApp, type TestApp } from "../support/app";
import { type SeededMember, seedMember } from "../support/identity";

/** One member's row of `GET /api/v1/members/stats`, as the service types it. */
type Stat = MemberStatsView;

let t: TestApp;
let manager: SeededMember;
let ana: Tracker; // Europe/Berlin
let bob: Tracker; // America/New_York
let cem: Tracker; // UTC, nothing tracked
let running: string;

async function entry(who: Tracker, start: string, end: string | null, deleted = false) {
  const id = newId("timeEntry");
  const now = t.clock.now();
  await t.platform.db.insert(timeEntries).values({
    id,
    orgId: who.orgId,
    memberId: who.memberId,
    startAt: new Date(start),
    endAt: end ? new Date(end) : null,
    source: "manual",
    deletedAt: deleted ? now : null,
    createdAt: now,
    updatedAt: now,
  });
  return id;
}

async function named(who: Tracker, name: string, tz: string) {
  await t.platform.db
    .update(memberships)
    .set({ displayName: name, timezone: tz })
    .where(eq(memberships.id, who.memberId));
}

/** GET /members/stats as `who`, with the number of database round trips it made (beyond auth). */
async function stats(who: { auth: Record<string, string> }, query = "") {
  t.spans.reset();
  const res = await t.app.request(`/api/v1/members/stats${query}`, { headers: who.auth });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: Stat[]; nextCursor: string | null; generatedAt: string };
  const db = t.spans.getFinishedSpans().filter((s) => s.name.startsWith("db."));
  const text = (s: (typeof db)[number]) => String(s.attributes["db.query.text"]);
  return {
    body,
    statsQueries: db.filter((s) => text(s).includes("members.stats")).length,
    // The presence-and-activity-only refresh after heartbeats.
    activityQueries: db.filter((s) => text(s).includes("members.stats (activity)")).length,
    // Every round trip that is not the session lookup of the auth middleware.
    otherQueries: db.filter((s) => !text(s).includes("members.stats") && !text(s).includes('from "sessions"'))
      .length,
    by: (name: string) => body.data.find((d) => d.name === name) as Stat,
  };
}

beforeAll(async () => {
  t = await createTestApp();
  // Tuesday 2026-03-10 12:00Z: 13:00 in Berlin (CET), 08:00 in New York (EDT since 03-08).
  t.clock.set("2026-03-10T12:00:00Z");
  ana = await tracker(t);
  manager = await seedMember(t, "manager", { orgId: ana.orgId });
  bob = await tracker(t, "member", { orgId: ana.orgId });
  cem = await tracker(t, "member", { orgId: ana.orgId });
  await t.platform.db.update(memberships).set({ role: "viewer" }).where(eq(memberships.id, cem.memberId));
  await named(ana, "Ana", "Europe/Berlin");
  await named(bob, "Bob", "America/New_York");
  await named(cem, "Cem", "UTC");
  await t.platform.db
    .update(memberships)
    .set({ displayName: "Max" })
    .where(eq(memberships.userId, manager.userId));

  // Ana, Berlin: today = [03-09 23:00Z, 03-10 23:00Z), week (Mon) = [03-08 23:00Z, 03-15 23:00Z).
  await entry(ana, "2026-03-09T22:30:00Z", "2026-03-09T23:30:00Z"); // today 1800, week 3600
  await entry(ana, "2026-03-08T22:00:00Z", "2026-03-08T23:30:00Z"); // today 0, week 1800
  await entry(ana, "2026-03-10T08:00:00Z", "2026-03-10T09:00:00Z", true); // deleted: nothing
  await entry(ana, "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"); // last week: nothing
  running = await entry(ana, "2026-03-10T11:00:00Z", null); // running: 3600 at 12:00
  // Bob, New York: today = [03-10 04:00Z, 03-11 04:00Z), week = [03-09 04:00Z, 03-16 04:00Z).
  await entry(bob, "2026-03-10T03:00:00Z", "2026-03-10T05:00:00Z"); // today 3600, week 7200
  await entry(bob, "2026-03-09T02:00:00Z", "2026-03-09T05:00:00Z"); // today 0, week 3600
  // Ana's activity today: 10 min active, 5 min idle; and some of yesterday (local), not counted.
  await ingest(t, ana, [
    ...Array.from({ length: 20 }, (_, i) =>
      hb(Date.parse("2026-03-10T10:00:00Z") + i * 30_000, { duration: 30 }),
    ),
    ...Array.from({ length: 10 }, (_, i) =>
      hb(Date.parse("2026-03-10T10:10:00Z") + i * 30_000, { duration: 30, idle: true }),
    ),
    hb("2026-03-09T22:00:00Z", { duration: 60, app: "Late" }),
  ]);
});
afterAll(() => t?.close());

describe("GET /api/v1/members/stats", () => {
  test("tracked time today and this week in each member's own zone; activity; running timer; presence", async () => {
    const { body, by } = await stats(manager);
    expect(body.data.map((d) => d.name)).toEqual(["Ana", "Bob", "Cem", "Max"]);
    expect(by("Ana")).toMatchObject({
      timezone: "Europe/Berlin",
      trackedTodaySeconds: 1800 + 3600,
      trackedWeekSeconds: 3600 + 1800 + 3600,
      activeSecondsToday: 600,
      idleSecondsToday: 300,
      activePercent: 66.7,
      status: "idle", // the newest heartbeat (10:14:30Z) was idle
      lastSeenAt: "2026-03-10T12:00:00.000Z",
      runningTimer: { entryId: running, startAt: "2026-03-10T11:00:00.000Z", seconds: 3600 },
    });
    expect(by("Bob")).toMatchObject({
      trackedTodaySeconds: 3600,
      trackedWeekSeconds: 10800,
      activePercent: null,
      runningTimer: null,
      status: "offline",
      lastSeenAt: null,
    });
    expect(by("Cem")).toMatchObject({ trackedTodaySeconds: 0, trackedWeekSeconds: 0, activeSecondsToday: 0 });
  });

  test("members and viewers see everyone's presence but only their own numbers", async () => {
    const { by } = await stats(bob);
    expect(by("Bob").trackedWeekSeconds).toBe(10800);
    expect(by("Ana")).toMatchObject({
      status: "idle",
      trackedTodaySeconds: null,
      trackedWeekSeconds: null,
      activePercent: null,
      runningTimer: null,
    });
    const viewer = await stats(cem);
    expect(viewer.by("Cem").trackedTodaySeconds).toBe(0);
    expect(viewer.by("Bob").trackedTodaySeconds).toBeNull();
  });

  test("one query for the whole organization, whatever its size (no N+1)", async () => {
    t.clock.advance(61_000); // past the cache
    const few = await stats(manager);
    expect(few.statsQueries).toBe(1);
    expect(few.otherQueries).toBe(0);
    for (let i = 0; i < 12; i++) {
      const m = await tracker(t, "member", { orgId: ana.orgId });
      await named(m, `Zed ${String(i).padStart(2, "0")}`, i % 2 ? "Europe/Berlin" : "America/New_York");
      await entry(m, "2026-03-10T09:00:00Z", "2026-03-10T10:00:00Z");
    }
    t.clock.advance(61_000);
    const many = await stats(manager);
    expect(many.body.data).toHaveLength(16);
    expect(many.by("Zed 03").trackedTodaySeconds).toBe(3600);
    expect([many.statsQueries, many.otherQueries]).toEqual([1, 0]);
  });

  test("an organization's first read in a process learns its time zones: at most one extra query", async () => {
    const lone = await tracker(t, "admin");
    await named(lone, "Lone", "Asia/Kolkata");
    const first = await stats(lone);
    expect(first.statsQueries).toBe(2);
    // Kolkata (+05:30): today = [03-09 18:30Z, 03-10 18:30Z).
    expect(first.by("Lone").timezone).toBe("Asia/Kolkata");
    t.clock.advance(61_000);
    expect((await stats(lone)).statsQueries).toBe(1);
  });

  test("a repeated read within 60 s is served from the cache (no query); a running timer still counts up", async () => {
    t.clock.advance(61_000); // access tokens live 15 minutes: move time in small steps
    const first = await stats(manager);
    expect(first.statsQueries).toBe(1);
    t.clock.advance(59_000);
    const again = await stats(manager);
    expect([again.statsQueries, again.otherQueries]).toEqual([0, 0]);
    expect(again.body.generatedAt).toBe(first.body.generatedAt);
    expect(again.by("Ana").trackedTodaySeconds).toBe((first.by("Ana").trackedTodaySeconds as number) + 59);
    t.clock.advance(2_000);
    expect((await stats(manager)).statsQueries).toBe(1);
  });

  test("writes invalidate: time entries and timers (time module events), heartbeats, profile changes", async () => {
    t.clock.advance(61_000);
    await stats(manager); // warm the cache
    const before = (await stats(manager)).by("Bob");

    const created = await t.app.request("/api/v1/time-entries", {
      method: "POST",
      headers: { ...bob.auth, "content-type": "application/json" },
      body: JSON.stringify({ start: "2026-03-10T11:00:00Z", end: "2026-03-10T11:30:00Z" }),
    });
    expect(created.status).toBe(201);
    await t.platform.drain();
    const afterEntry = await stats(manager);
    expect(afterEntry.statsQueries).toBe(1);
    expect(afterEntry.activityQueries).toBe(0); // an entry recomputes everything
    expect(afterEntry.by("Bob").trackedTodaySeconds).toBe((before.trackedTodaySeconds as number) + 1800);

    const started = await t.app.request("/api/v1/timer/start", { method: "POST", headers: bob.auth });
    expect(started.status).toBe(201);
    await t.platform.drain();
    expect((await stats(manager)).by("Bob").runningTimer).not.toBeNull();

    const beforeHb = (await stats(manager)).by("Bob");
    await ingest(t, bob, [hb(t.clock.now().getTime() - 60_000, { duration: 60, keyboard: 3 })]);
    const afterHb = await stats(manager);
    // A heartbeat refreshes presence and activity only, on top of the cached entry totals.
    expect([afterHb.statsQueries, afterHb.activityQueries]).toEqual([1, 1]);
    expect(afterHb.by("Bob")).toMatchObject({ status: "active", activeSecondsToday: 60, activePercent: 100 });
    expect(afterHb.by("Bob").lastSeenAt).toBe(t.clock.now().toISOString());
    expect(afterHb.by("Bob").trackedWeekSeconds).toBe(beforeHb.trackedWeekSeconds);
    expect(afterHb.by("Bob").runningTimer?.entryId).toBe(beforeHb.runningTimer?.entryId as string);
    // …and a refresh is cached like a full computation.
    expect((await stats(manager)).statsQueries).toBe(0);

    const patched = await t.app.request("/api/v1/members/me/profile", {
      method: "PATCH",
      headers: { ...bob.auth, "content-type": "application/json" },
      body: JSON.stringify({ timezone: "Asia/Tokyo" }),
    });
    expect(patched.status).toBe(200);
    const afterTz = await stats(manager);
    // Tokyo: 12:0xZ is 21:0x local; today = [03-09 15:00Z, 03-10 15:00Z): 03:00Z–05:00Z, 11:00Z–11:30Z, the timer.
    const bobNow = afterTz.by("Bob");
    expect(bobNow.timezone).toBe("Asia/Tokyo");
    expect(bobNow.trackedTodaySeconds).toBe(7200 + 1800 + (bobNow.runningTimer?.seconds as number));
  });

  test("paginated by name with a cursor and a Link header", async () => {
    const p1 = await t.app.request("/api/v1/members/stats?limit=3", { headers: manager.auth });
    const b1 = (await p1.json()) as { data: Stat[]; nextCursor: string };
    expect(b1.data.map((d) => d.name)).toEqual(["Ana", "Bob", "Cem"]);
    expect(p1.headers.get("link")).toContain("cursor=");
    const p2 = await t.app.request(`/api/v1/members/stats?limit=3&cursor=${b1.nextCursor}`, {
      headers: manager.auth,
    });
    const b2 = (await p2.json()) as { data: Stat[] };
    expect(b2.data.map((d) => d.name)).toEqual(["Max", "Zed 00", "Zed 01"]);
    const bad = await t.app.request("/api/v1/members/stats?cursor=nope", { headers: manager.auth });
    expect(bad.status).toBe(422);
  });

  test("a heartbeat after a member's midnight recomputes everything: cached totals belong to the old day", async () => {
    // Bob is in Asia/Tokyo now (previous test): midnight there is 15:00Z.
    t.clock.set("2026-03-10T14:59:50Z");
    const session = await t.services.sessions.create({
      userId: manager.userId,
      orgId: manager.orgId,
      ip: "127.0.0.1",
    });
    const boss = { auth: { authorization: `Bearer ${session.accessToken}` } };
    await stats(boss); // cache computed for Bob's 03-10
    t.clock.advance(20_000); // 15:00:10Z: 03-11 00:00:10 in Tokyo, still within the 60 s cache
    await ingest(t, bob, [hb(t.clock.now().getTime() - 5_000, { duration: 5, keyboard: 1 })]);
    const after = await stats(boss);
    expect([after.statsQueries, after.activityQueries]).toEqual([1, 0]);
    const bobNow = after.by("Bob");
    // A new day: only the running timer's 10 s since midnight, and 5 s of activity.
    expect(bobNow.trackedTodaySeconds).toBe(10);
    expect(bobNow.activeSecondsToday).toBe(5);
  });
});
