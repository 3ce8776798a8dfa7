/**
 * GET /api/v1/members/stats in zones whose local midnight is not on a UTC hour (Asia/Kolkata
 * +05:30, Asia/Kathmandu +05:45): activity today comes from the hourly rollup for whole UTC hours
 * and from the span pieces for the part-hour at midnight, and must count exactly the local day, as
 * app usage does. Times are hand-computed; each member is in an organization of their own.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { memberships } from "../../src/db/schema";
import type { MemberStatsView } from "../../src/modules/members/stats.service";
import { type Hb, hb, ingest, type Tracker, tracker } from "../activity/support";
import { createTestApp, type TestApp } from "../support/app";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

const MIN = 60_000;

/** One heartbeat every 30 s covering [from, to). */
function run(from: number, to: number, fields: Partial<Hb> = {}): Hb[] {
  const out: Hb[] = [];
  for (let ms = from; ms < to; ms += 30_000) out.push(hb(ms, { duration: 30, ...fields }));
  return out;
}

async function inZone(tz: string): Promise<Tracker> {
  const who = await tracker(t);
  await t.platform.db.update(memberships).set({ timezone: tz }).where(eq(memberships.id, who.memberId));
  return who;
}

/** The member's own row of GET /members/stats, and how many statements computed it. */
async function statsOf(who: Tracker) {
  t.spans.reset();
  const res = await t.app.request("/api/v1/members/stats", { headers: who.auth });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: MemberStatsView[] };
  const queries = t.spans
    .getFinishedSpans()
    .map((s) => String(s.attributes["db.query.text"] ?? ""))
    .filter((q) => q.includes("members.stats"));
  return { row: body.data.find((d) => d.memberId === who.memberId) as MemberStatsView, queries };
}

async function usageActiveSeconds(who: Tracker, date: string) {
  const res = await t.app.request(`/api/v1/members/me/app-usage?date=${date}`, { headers: who.auth });
  expect(res.status).toBe(200);
  return ((await res.json()) as { days: { activeSeconds: number }[] }).days[0]?.activeSeconds;
}

// Local midnight starting 2026-03-10, and the first whole UTC hour after it.
const ZONES = [
  { tz: "Asia/Kolkata", midnight: Date.parse("2026-03-09T18:30:00Z"), offHour: 30 },
  { tz: "Asia/Kathmandu", midnight: Date.parse("2026-03-09T18:15:00Z"), offHour: 45 },
];
const NEXT_HOUR = Date.parse("2026-03-09T19:00:00Z");

describe("members stats: activity today at a local midnight off the UTC hour", () => {
  for (const { tz, midnight, offHour } of ZONES)
    test(`${tz}: the part-hour after midnight counts, the part before does not`, async () => {
      t.clock.set("2026-03-10T12:00:00Z"); // afternoon of 03-10 in both zones
      const who = await inZone(tz);
      // Active across midnight (20 min before, 20 after); idle until the next UTC hour; active 20 min
      // in that (whole) hour. Today: 20 + 20 min active, the rest of the part-hour idle.
      await ingest(t, who, run(midnight - 20 * MIN, midnight + 20 * MIN));
      const before = await statsOf(who);
      expect(before.row).toMatchObject({ activeSecondsToday: 1200, idleSecondsToday: 0 });
      // A heartbeat refreshes only activity in the cached stats (the statement's `activity` part).
      await ingest(t, who, run(midnight + 20 * MIN, NEXT_HOUR, { idle: true }));
      await ingest(t, who, run(NEXT_HOUR, NEXT_HOUR + 20 * MIN, { app: "Mail" }));
      const after = await statsOf(who);
      expect(after.queries).toEqual([expect.stringContaining("members.stats (activity)")]);
      expect(after.row).toMatchObject({
        activeSecondsToday: 2400,
        idleSecondsToday: (offHour - 20) * 60,
      });
      expect(await usageActiveSeconds(who, "2026-03-10")).toBe(2400);
      // Past the TTL the whole statement runs again and agrees.
      t.clock.advance(61_000);
      const full = await statsOf(who);
      expect(full.queries).toEqual([expect.not.stringContaining("(activity)")]);
      expect(full.row).toMatchObject({ activeSecondsToday: 2400, idleSecondsToday: (offHour - 20) * 60 });
    });

  test("activity of yesterday's last part-hour alone is not today's", async () => {
    t.clock.set("2026-03-10T12:00:00Z");
    const who = await inZone("Asia/Kolkata");
    // 18:05–18:25Z on 03-09 is 23:35–23:55 IST on 03-09.
    await ingest(t, who, run(Date.parse("2026-03-09T18:05:00Z"), Date.parse("2026-03-09T18:25:00Z")));
    expect((await statsOf(who)).row).toMatchObject({ activeSecondsToday: 0, activePercent: null });
  });
});

describe("members stats: the first day of the week at a local midnight off the UTC hour", () => {
  // Monday 2026-03-09, 11:30 IST / 11:45 NPT. The week (Monday) starts at 03-08 18:30Z in Kolkata,
  // 18:15Z in Kathmandu.
  for (const { tz, weekStart } of [
    { tz: "Asia/Kolkata", weekStart: Date.parse("2026-03-08T18:30:00Z") },
    { tz: "Asia/Kathmandu", weekStart: Date.parse("2026-03-08T18:15:00Z") },
  ])
    test(`${tz}: entries and activity are clipped at the week's start`, async () => {
      t.clock.set("2026-03-09T06:00:00Z");
      const who = await inZone(tz);
      // One hour of tracked time from 18:00Z on Sunday (UTC), and one the hour before (all last week).
      for (const [start, end] of [
        ["2026-03-08T18:00:00Z", "2026-03-08T19:00:00Z"],
        ["2026-03-08T17:00:00Z", "2026-03-08T18:00:00Z"],
      ]) {
        const res = await t.app.request("/api/v1/time-entries", {
          method: "POST",
          headers: { ...who.auth, "content-type": "application/json" },
          body: JSON.stringify({ start, end }),
        });
        expect(res.status).toBe(201);
      }
      await ingest(t, who, run(weekStart - 20 * MIN, weekStart + 20 * MIN));
      await t.platform.drain();
      const inWeek = (Date.parse("2026-03-08T19:00:00Z") - weekStart) / 1000;
      expect((await statsOf(who)).row).toMatchObject({
        trackedTodaySeconds: inWeek,
        trackedWeekSeconds: inWeek,
        activeSecondsToday: 1200,
        idleSecondsToday: 0,
      });
    });
});
