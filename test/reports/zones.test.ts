/**
 * Day boundaries in two zones around the autumn and spring changes, computed by hand.
 *
 * Europe/Berlin: Sunday 2026-10-25 has 25 hours (03:00 CEST falls back to 02:00 CET at 01:00 UTC);
 *   local midnights: Sat 24 → 23 22:00Z, Sun 25 → 24 22:00Z, Mon 26 → 25 23:00Z.
 * America/New_York: Sunday 2026-11-01 has 25 hours (02:00 EDT → 01:00 EST at 06:00 UTC);
 *   Sunday 2026-03-08 has 23 hours (02:00 EST → 03:00 EDT at 07:00 UTC);
 *   local midnights: Oct 24 → 04:00Z, Oct 25 → 04:00Z, Oct 31 → 04:00Z, Nov 1 → 04:00Z, Nov 2 → 05:00Z;
 *   Mar 7 → 05:00Z, Mar 8 → 05:00Z, Mar 9 → 04:00Z.
 *
 * Ana's entries:
 *   H1 2026-10-24 20:00Z → 10-25 03:00Z (7 h)  Berlin: Sat 22:00 CEST → Sun 04:00 CET: Sat 7200 (to 22:00Z),
 *      Sun 18000 (22:00Z–03:00Z, 5 real hours for 4 on the wall). New York: all on Sat Oct 24 (16:00–23:00 EDT).
 *   H2 2026-10-25 09:00Z → 21:00Z (12 h)       Berlin Sun 25; New York Sun 25.
 *   K1 2026-11-01 03:00Z → 08:00Z (5 h)        New York: Sat Oct 31 23:00 EDT → Sun Nov 1 03:00 EST:
 *      Sat 3600 (to 04:00Z), Sun 14400 (04:00Z–08:00Z: 4 real hours for 3 on the wall). Berlin: Sun Nov 1.
 *   L1 2026-03-08 03:00Z → 09:00Z (6 h)        New York: Sat Mar 7 22:00 EST → Sun Mar 8 05:00 EDT:
 *      Sat 7200 (to 05:00Z), Sun 14400 (05:00Z–09:00Z: 4 real hours for 5 on the wall).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { entry, type Fixture, fixture, ok, type Summary } from "./support";

let x: Fixture;
beforeAll(async () => {
  x = await fixture("2026-11-10T12:00:00.000Z");
  await entry(x, x.ana, "2026-10-24T20:00:00Z", "2026-10-25T03:00:00Z"); // H1
  await entry(x, x.ana, "2026-10-25T09:00:00Z", "2026-10-25T21:00:00Z"); // H2
  await entry(x, x.ana, "2026-11-01T03:00:00Z", "2026-11-01T08:00:00Z"); // K1
  await entry(x, x.ana, "2026-03-08T03:00:00Z", "2026-03-08T09:00:00Z"); // L1
});
afterAll(() => x.t.close());

const days = async (query: string) => {
  const r = (await ok(
    x.t,
    200,
    "GET",
    `/api/v1/reports/summary?groupBy=day&${query}`,
    x.member,
  )) as unknown as Summary;
  return Object.fromEntries(r.groups.map((g) => [g.key, g.seconds]));
};

describe("local days across DST changes", () => {
  test("Europe/Berlin, autumn: Sunday 25 October holds 25 hours", async () => {
    expect(await days("from=2026-10-24&to=2026-10-25&tz=Europe/Berlin")).toEqual({
      "2026-10-24": 7200,
      "2026-10-25": 18000 + 43200,
    });
  });

  test("America/New_York, same entries: the night entry stays on Saturday", async () => {
    expect(await days("from=2026-10-24&to=2026-10-25&tz=America/New_York")).toEqual({
      "2026-10-24": 25200,
      "2026-10-25": 43200,
    });
  });

  test("America/New_York, autumn (Sunday 1 November, 25 hours) and spring (Sunday 8 March, 23 hours)", async () => {
    expect(await days("from=2026-10-31&to=2026-11-01&tz=America/New_York")).toEqual({
      "2026-10-31": 3600,
      "2026-11-01": 14400,
    });
    expect(await days("from=2026-03-07&to=2026-03-08&tz=America/New_York")).toEqual({
      "2026-03-07": 7200,
      "2026-03-08": 14400,
    });
    // In Berlin K1 is 04:00–09:00 CET on Sunday 1 November.
    expect(await days("from=2026-11-01&to=2026-11-01&tz=Europe/Berlin")).toEqual({ "2026-11-01": 18000 });
  });

  test("weeks in New York: Sunday weeks vs Monday weeks around 1 November", async () => {
    const weeks = async (weekStart: string) => {
      const r = (await ok(
        x.t,
        200,
        "GET",
        `/api/v1/reports/summary?groupBy=week&from=2026-10-25&to=2026-11-01&tz=America/New_York&weekStart=${weekStart}`,
        x.member,
      )) as unknown as Summary;
      return Object.fromEntries(r.groups.map((g) => [g.key, g.seconds]));
    };
    // Sunday weeks: Oct 25–31 holds H2 43200 + K1's Saturday 3600; Nov 1 starts a week (14400).
    expect(await weeks("sunday")).toEqual({ "2026-10-25": 46800, "2026-11-01": 14400 });
    // Monday weeks: Sunday Oct 25 closes the week of Oct 19; Oct 26–Nov 1 holds 3600 + 14400.
    expect(await weeks("monday")).toEqual({ "2026-10-19": 43200, "2026-10-26": 18000 });
  });

  test("weekly grid in New York for the week of 1 November (Sunday weeks)", async () => {
    const r = await ok(
      x.t,
      200,
      "GET",
      "/api/v1/reports/weekly?week=2026-11-03&tz=America/New_York&weekStart=sunday",
      x.member,
    );
    expect(r).toMatchObject({ start: "2026-11-01", end: "2026-11-07" });
    expect(r.members).toEqual([
      { memberId: x.ana, label: "Ana", days: [14400, 0, 0, 0, 0, 0, 0], totalSeconds: 14400 },
    ]);
  });

  test("ranges: to before from, and more than 366 days, are 422 naming `to`; bad dates and zones too", async () => {
    for (const [q, path] of [
      ["from=2026-03-10&to=2026-03-09", "to"],
      ["from=2025-01-01&to=2026-01-02", "to"],
      ["from=2026-02-30&to=2026-03-01", "from"],
      ["from=2026-03-01&to=2026-03-02&tz=Mars/Olympus", "tz"],
      // Samoa skipped 30 December 2011 (UTC−10 → UTC+14): a day-grid report across it is refused.
      ["from=2011-12-28&to=2012-01-02&tz=Pacific/Apia", "tz"],
    ] as const) {
      const r = await x.t.app.request(`/api/v1/reports/summary?${q}`, { headers: x.member.auth });
      expect(r.status).toBe(422);
      const body = (await r.json()) as { errors: { path: string }[] };
      expect(body.errors[0]?.path).toBe(path);
    }
    // 366 days is the most a report covers (2028 is a leap year: Jan 1 to Dec 31 is 366 days).
    expect(
      (
        await x.t.app.request("/api/v1/reports/summary?from=2028-01-01&to=2028-12-31", {
          headers: x.member.auth,
        })
      ).status,
    ).toBe(200);
  });
});
