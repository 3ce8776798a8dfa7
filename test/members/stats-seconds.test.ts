/**
 * Tracked time in GET /api/v1/members/stats counts the whole seconds the entries show (their start
 * and end truncated to the second), as reports do: the two agree to the second, also for a running
 * timer. Before, stats summed milliseconds and rounded the total, so timers started and stopped at
 * sub-second instants lost seconds against the report.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { MemberStatsView } from "../../src/modules/members/stats.service";
import { type Tracker, tracker } from "../activity/support";
import { createTestApp, type TestApp } from "../support/app";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

async function call(who: Tracker, method: string, path: string, body?: unknown) {
  const res = await t.app.request(path, {
    method,
    headers: { ...who.auth, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function mine(who: Tracker): Promise<MemberStatsView> {
  const r = await call(who, "GET", "/api/v1/members/stats");
  expect(r.status).toBe(200);
  return (r.body.data as MemberStatsView[]).find((d) => d.memberId === who.memberId) as MemberStatsView;
}

describe("members stats: tracked seconds as reports count them", () => {
  test("three timers of 15:00 on the clock each: 2,700 s in stats and in the report", async () => {
    // Signed in at noon (the access token lasts minutes), then the morning's timers on the injected clock.
    t.clock.set("2026-03-02T12:00:00.000Z");
    const who = await tracker(t);
    for (const [start, stop] of [
      ["09:00:00.600", "09:15:00.400"],
      ["10:00:00.900", "10:15:00.100"],
      ["11:00:00.700", "11:15:00.200"],
    ]) {
      t.clock.set(`2026-03-02T${start}Z`);
      expect((await call(who, "POST", "/api/v1/timer/start", {})).status).toBe(201);
      t.clock.set(`2026-03-02T${stop}Z`);
      expect((await call(who, "POST", "/api/v1/timer/stop", {})).status).toBe(200);
    }
    t.clock.set("2026-03-02T12:00:00.000Z");
    const report = await call(who, "GET", "/api/v1/reports/summary?from=2026-03-02&to=2026-03-02&tz=UTC");
    expect(report.status).toBe(200);
    expect((report.body.totals as { rawSeconds: number }).rawSeconds).toBe(2_700);
    // By milliseconds: 899.8 + 899.2 + 899.5 = 2,698.5 s, shown as 2,699 (or 2,698) before.
    expect(await mine(who)).toMatchObject({ trackedTodaySeconds: 2_700, trackedWeekSeconds: 2_700 });
  });

  test("a running timer counts the seconds its clock shows", async () => {
    t.clock.set("2026-03-03T09:10:00.200Z");
    const who = await tracker(t);
    t.clock.set("2026-03-03T09:00:00.900Z");
    expect((await call(who, "POST", "/api/v1/timer/start", {})).status).toBe(201);
    t.clock.set("2026-03-03T09:10:00.200Z");
    const row = await mine(who);
    // 09:00:00 → 09:10:00 on the clock: 600 s (599.3 s by milliseconds, shown as 599 before).
    expect(row.runningTimer?.seconds).toBe(600);
    expect(row.trackedTodaySeconds).toBe(600);
  });
});
