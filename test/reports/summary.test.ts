/**
 * Reports against hand-computed figures. The fixture is one week in Europe/Berlin that contains the
 * spring DST change: Sunday 2026-03-29 has 23 hours (02:00 CET jumps to 03:00 CEST at 01:00 UTC).
 * Berlin local midnights in UTC: Mon 23 → Sun 22 23:00Z … Sun 29 → Sat 28 23:00Z, Mon 30 → Sun 29 22:00Z.
 *
 * Ana (member):
 *   G  Sun 22 23:30 → Mon 23 00:30 CET  = 22:30Z–23:30Z Sun 22   Beta   1 h; only Mon's 30 min are in the week
 *   E1 Mon 23 09:00 → 12:30 CET        = 08:00Z–11:30Z          Alpha  12600 s
 *   E2 Tue 24 23:00 → Wed 25 01:00 CET = 22:00Z Tue–00:00Z Wed  Beta   3600 s Tue + 3600 s Wed
 *   E5 Wed 25 10:00 → 10:07 CET        = 09:00Z–09:07Z          Alpha  420 s
 *   E6 Wed 25 14:00 → 14:52 CET        = 13:00Z–13:52Z          Beta   3120 s
 *   E3 Sat 28 22:30 CET → Sun 29 04:00 CEST = 21:30Z Sat–02:00Z Sun  Alpha  4 h 30 real: 5400 s Sat (to 23:00Z)
 *      + 10800 s Sun (23:00Z–02:00Z; the wall clock shows 4 hours, one of which does not exist)
 *   E4 Sun 29 22:00 → Mon 30 01:00 CEST = 20:00Z–23:00Z Sun 29  none   7200 s Sun; Monday's hour is outside
 * Bo (manager):
 *   F1 Thu 26 09:00 → 17:00 CET        = 08:00Z–16:00Z          Beta   28800 s
 *   F2 Fri 27 13:10 → 13:20 CET        = 12:10Z–12:20Z          Alpha  600 s
 * Not counted: Bo's running timer (started Fri 27 10:00Z), Ana's deleted entry, organization B's entry.
 *
 * Per day (s): Ana Mon 1800+12600=14400, Tue 3600, Wed 3600+420+3120=7140, Sat 5400, Sun 10800+7200=18000
 *              → 48540; Bo Thu 28800, Fri 600 → 29400. Total 77940.
 * Billable (Alpha): 12600 + 16200 + 420 + 600 = 29820. Per project: Alpha 29820, Beta 1800+7200+3120+28800
 * = 40920, no project 7200 (sum 77940).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, entry, type Fixture, fixture, ok, type Summary, secondsBy } from "./support";

let x: Fixture;
beforeAll(async () => {
  x = await fixture("2026-03-27T10:00:00.000Z");
  const { ana, bo, alpha, beta } = x;
  await entry(x, ana, "2026-03-22T22:30:00Z", "2026-03-22T23:30:00Z", { projectId: beta }); // G
  await entry(x, ana, "2026-03-23T08:00:00Z", "2026-03-23T11:30:00Z", { projectId: alpha }); // E1
  await entry(x, ana, "2026-03-24T22:00:00Z", "2026-03-25T00:00:00Z", { projectId: beta }); // E2
  await entry(x, ana, "2026-03-25T09:00:00Z", "2026-03-25T09:07:00Z", { projectId: alpha }); // E5
  await entry(x, ana, "2026-03-25T13:00:00Z", "2026-03-25T13:52:00Z", { projectId: beta }); // E6
  await entry(x, ana, "2026-03-28T21:30:00Z", "2026-03-29T02:00:00Z", { projectId: alpha }); // E3
  await entry(x, ana, "2026-03-29T20:00:00Z", "2026-03-29T23:00:00Z"); // E4
  await entry(x, bo, "2026-03-26T08:00:00Z", "2026-03-26T16:00:00Z", { projectId: beta }); // F1
  await entry(x, bo, "2026-03-27T12:10:00Z", "2026-03-27T12:20:00Z", { projectId: alpha }); // F2
  await ok(x.t, 201, "POST", "/api/v1/timer/start", x.manager, { projectId: alpha }); // running: not reported
  const gone = await entry(x, ana, "2026-03-25T14:00:00Z", "2026-03-25T15:00:00Z");
  await ok(x.t, 204, "DELETE", `/api/v1/time-entries/${gone}`, x.manager);
  await ok(x.t, 201, "POST", "/api/v1/time-entries", x.other, {
    start: "2026-03-24T08:00:00Z",
    end: "2026-03-24T12:00:00Z",
  });
});
afterAll(() => x.t.close());

const WEEK = "from=2026-03-23&to=2026-03-29&tz=Europe/Berlin";
const summary = async (query: string, who = x.admin) =>
  (await ok(x.t, 200, "GET", `/api/v1/reports/summary?${WEEK}&${query}`, who)) as unknown as Summary;

describe("summary report (Europe/Berlin, spring DST week)", () => {
  test("group by day: entries split at local midnight, Sunday of 23 hours, range clipped at both ends", async () => {
    const r = await summary("groupBy=day");
    expect(r.groups.map((g) => [g.key, g.seconds])).toEqual([
      ["2026-03-23", 14400],
      ["2026-03-24", 3600],
      ["2026-03-25", 7140],
      ["2026-03-26", 28800],
      ["2026-03-27", 600],
      ["2026-03-28", 5400],
      ["2026-03-29", 18000],
    ]);
    // Entries are distinct per group: E2 counts on Tuesday and on Wednesday, once in the total.
    expect(r.groups.map((g) => g.entries)).toEqual([2, 1, 3, 1, 1, 1, 2]);
    expect(r.totals).toEqual({ seconds: 77940, billableSeconds: 29820, rawSeconds: 77940, entries: 9 });
  });

  test("group by member and by project give the same total; labels; no project last", async () => {
    const byMember = await summary("groupBy=member");
    expect(byMember.groups.map((g) => [g.key, g.label, g.seconds, g.billableSeconds, g.entries])).toEqual([
      [x.ana, "Ana", 48540, 12600 + 16200 + 420, 7],
      [x.bo, "Bo", 29400, 600, 2],
    ]);
    const byProject = await summary("groupBy=project");
    expect(byProject.groups.map((g) => [g.key, g.label, g.seconds])).toEqual([
      [x.alpha, "Alpha", 29820],
      [x.beta, "Beta", 40920],
      [null, "(no project)", 7200],
    ]);
    expect(byProject.totals.seconds).toBe(77940);
  });

  test("sub-groups: project × member", async () => {
    const r = await summary("groupBy=project&subGroup=member");
    // Alpha: Ana 12600 + 16200 + 420 = 29220, Bo 600; Beta: Ana 1800 + 7200 + 3120 = 12120, Bo 28800.
    expect(r.groups.map((g) => [g.label, secondsBy(g.subGroups ?? [])])).toEqual([
      ["Alpha", { Ana: 29220, Bo: 600 }],
      ["Beta", { Ana: 12120, Bo: 28800 }],
      ["(no project)", { Ana: 7200 }],
    ]);
    expect(
      (await call(x.t, "GET", `/api/v1/reports/summary?${WEEK}&groupBy=day&subGroup=day`, x.admin)).status,
    ).toBe(422);
  });

  test("group by week: weekStart monday vs sunday", async () => {
    const monday = await summary("groupBy=week&weekStart=monday");
    expect(monday.groups.map((g) => [g.key, g.seconds])).toEqual([["2026-03-23", 77940]]);
    // Sunday weeks: Mon 23–Sat 28 belong to the week of Sun 22 (14400+3600+7140+28800+600+5400 = 59940);
    // Sun 29 starts the next week (18000).
    const sunday = await summary("groupBy=week&weekStart=sunday");
    expect(sunday.groups.map((g) => [g.key, g.seconds])).toEqual([
      ["2026-03-22", 59940],
      ["2026-03-29", 18000],
    ]);
    expect(sunday.weekStart).toBe("sunday");
    // Distinct entries per week: E3 (Sat 28 → Sun 29) counts in both Sunday weeks, E2 (Tue → Wed) once.
    expect(sunday.groups.map((g) => g.entries)).toEqual([8, 2]);
    expect(monday.groups.map((g) => g.entries)).toEqual([9]);
  });

  test("billable filter", async () => {
    expect((await summary("groupBy=member&billable=true")).totals.seconds).toBe(29820);
    // 77940 − 29820 = 48120
    expect((await summary("groupBy=member&billable=false")).totals.seconds).toBe(48120);
    expect(secondsBy((await summary("groupBy=project&billable=true")).groups)).toEqual({ Alpha: 29820 });
  });

  test("member and project filters", async () => {
    expect((await summary(`groupBy=day&memberIds=${x.bo}`)).totals.seconds).toBe(29400);
    expect((await summary(`groupBy=member&projectIds=${x.beta},${x.alpha}`)).totals.seconds).toBe(
      29820 + 40920,
    );
  });
});

describe("rounding", () => {
  // Parts that are not whole quarters: E5 420 s (7 min, Wed), E6 3120 s (52 min, Wed), F2 600 s (10 min, Fri).
  test("per entry, 15 minutes: up, down, nearest", async () => {
    // up: 420→900, 3120→3600, 600→900: 77940 + 480 + 480 + 300 = 79200; Wed 3600 + 900 + 3600 = 8100.
    const up = await summary("groupBy=day&rounding=up&roundingMinutes=15");
    expect(up.totals).toMatchObject({ seconds: 79200, rawSeconds: 77940 });
    expect(up.groups.find((g) => g.key === "2026-03-25")?.seconds).toBe(8100);
    expect(up.groups.find((g) => g.key === "2026-03-27")?.seconds).toBe(900);
    // Billable up: E1 12600, E3 5400 + 10800, E5 900, F2 900 = 30600.
    expect(up.totals.billableSeconds).toBe(30600);
    // down: 420→0, 3120→2700, 600→0: 77940 − 420 − 420 − 600 = 76500.
    expect((await summary("groupBy=day&rounding=down&roundingMinutes=15")).totals.seconds).toBe(76500);
    // nearest: 7 min→0, 52 min→45, 10 min→15: 77940 − 420 − 420 + 300 = 77400.
    expect((await summary("groupBy=day&rounding=nearest&roundingMinutes=15")).totals.seconds).toBe(77400);
    // The default unit is 15 minutes; entry scope is the default scope.
    expect((await summary("groupBy=project&rounding=up")).totals.seconds).toBe(79200);
  });

  test("per entry, 6 minutes (0.1 h): up", async () => {
    // 420→720, 3120→3240, 600→720; everything else is a multiple of 6 min: 77940 + 300 + 120 + 120 = 78480.
    expect((await summary("groupBy=member&rounding=up&roundingMinutes=6")).totals.seconds).toBe(78480);
  });

  test("per group, 15 minutes: each figure rounded from its raw sum; the total adds the groups", async () => {
    // Members raw: Ana 48540 (53.93 quarters), Bo 29400 (32.67 quarters).
    const up = await summary("groupBy=member&rounding=up&roundingMinutes=15&roundingScope=group");
    expect(secondsBy(up.groups)).toEqual({ Ana: 48600, Bo: 29700 });
    expect(up.totals).toMatchObject({ seconds: 78300, rawSeconds: 77940 });
    const down = await summary("groupBy=member&rounding=down&roundingMinutes=15&roundingScope=group");
    expect(secondsBy(down.groups)).toEqual({ Ana: 47700, Bo: 28800 });
    expect(down.totals.seconds).toBe(76500);
    const nearest = await summary("groupBy=member&rounding=nearest&roundingMinutes=15&roundingScope=group");
    expect(secondsBy(nearest.groups)).toEqual({ Ana: 48600, Bo: 29700 });
    // Days raw: Wed 7140 → up 7200 / down 6300; Fri 600 → up 900 / down 0; the others are whole quarters.
    const days = await summary("groupBy=day&rounding=down&roundingMinutes=15&roundingScope=group");
    expect(days.groups.find((g) => g.key === "2026-03-25")?.seconds).toBe(6300);
    expect(days.groups.find((g) => g.key === "2026-03-27")?.seconds).toBe(0);
    expect(days.totals.seconds).toBe(14400 + 3600 + 6300 + 28800 + 0 + 5400 + 18000);
  });

  test("per group rounds sub-groups on their own", async () => {
    // Ana: Alpha 29220 → 29700, Beta 12120 → 12600, none 7200; group 48540 → 48600. Bo: Alpha 600 → 900.
    const r = await summary(
      "groupBy=member&subGroup=project&rounding=up&roundingMinutes=15&roundingScope=group",
    );
    const ana = r.groups.find((g) => g.label === "Ana");
    expect(ana?.seconds).toBe(48600);
    expect(secondsBy(ana?.subGroups ?? [])).toEqual({ Alpha: 29700, Beta: 12600, "(no project)": 7200 });
    expect(secondsBy(r.groups.find((g) => g.label === "Bo")?.subGroups ?? [])).toEqual({
      Alpha: 900,
      Beta: 28800,
    });
  });

  test("invalid rounding parameters are 422 naming the field", async () => {
    for (const [q, path] of [
      ["rounding=sideways", "rounding"],
      ["rounding=up&roundingMinutes=7", "roundingMinutes"],
      ["roundingScope=all", "roundingScope"],
    ] as const) {
      const r = await call(x.t, "GET", `/api/v1/reports/summary?${WEEK}&${q}`, x.admin);
      expect(r.status).toBe(422);
      expect((r.body.errors as { path: string }[])[0]?.path).toBe(path);
    }
  });
});

describe("weekly grid", () => {
  test("monday weeks: member × day, rows and columns summed", async () => {
    const r = await ok(
      x.t,
      200,
      "GET",
      "/api/v1/reports/weekly?week=2026-03-25&tz=Europe/Berlin&weekStart=monday",
      x.viewer,
    );
    expect(r.days).toEqual([
      "2026-03-23",
      "2026-03-24",
      "2026-03-25",
      "2026-03-26",
      "2026-03-27",
      "2026-03-28",
      "2026-03-29",
    ]);
    expect(r.members).toEqual([
      { memberId: x.ana, label: "Ana", days: [14400, 3600, 7140, 0, 0, 5400, 18000], totalSeconds: 48540 },
      { memberId: x.bo, label: "Bo", days: [0, 0, 0, 28800, 600, 0, 0], totalSeconds: 29400 },
    ]);
    expect(r.totals).toEqual({ days: [14400, 3600, 7140, 28800, 600, 5400, 18000], totalSeconds: 77940 });
  });

  test("sunday weeks: the grid starts on Sunday 22, which holds G's first 30 minutes", async () => {
    const r = await ok(
      x.t,
      200,
      "GET",
      "/api/v1/reports/weekly?week=2026-03-25&tz=Europe/Berlin&weekStart=sunday",
      x.admin,
    );
    expect(r).toMatchObject({ start: "2026-03-22", end: "2026-03-28" });
    // Ana: Sun 22 1800, Mon 14400, Tue 3600, Wed 7140, Sat 5400 = 32340; Bo: Thu 28800, Fri 600.
    expect((r.members as { days: number[] }[]).map((m) => m.days)).toEqual([
      [1800, 14400, 3600, 7140, 0, 0, 5400],
      [0, 0, 0, 0, 28800, 600, 0],
    ]);
    expect((r.totals as { totalSeconds: number }).totalSeconds).toBe(32340 + 29400);
  });

  test("rounding per entry and per cell", async () => {
    const q = "/api/v1/reports/weekly?week=2026-03-25&tz=Europe/Berlin&rounding=up&roundingMinutes=15";
    const entry = await ok(x.t, 200, "GET", q, x.admin);
    // Wed: 3600 + 900 + 3600 (per entry) vs 7140 → 7200 (per cell).
    expect((entry.members as { days: number[] }[])[0]?.days[2]).toBe(8100);
    const cell = await ok(x.t, 200, "GET", `${q}&roundingScope=group`, x.admin);
    expect((cell.members as { days: number[] }[])[0]?.days[2]).toBe(7200);
  });
});
