/**
 * Reports count the whole seconds a user sees: entries with sub-second start and end times (timers
 * take the clock's milliseconds) are not rounded on fractions, and groups add up to the total. A
 * range holding a date the zone skipped is refused, naming `tz`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, entry, type Fixture, fixture, ok, type Summary } from "./support";

let x: Fixture;
beforeAll(async () => {
  x = await fixture("2026-03-05T12:00:00.000Z");
});
afterAll(() => x.t.close());

const get = (path: string, who = x.admin) => call(x.t, "GET", path, who);

describe("durations with sub-second precision", () => {
  test("rounding up to 15 min: a timer showing 900 s (15:00) is not rounded up to 1800 s", async () => {
    // A real timer: start and stop are taken from the clock with millisecond precision.
    x.t.clock.set("2026-03-02T09:00:00.100Z");
    await ok(x.t, 201, "POST", "/api/v1/timer/start", x.member, {});
    x.t.clock.set("2026-03-02T09:15:00.400Z");
    await ok(x.t, 200, "POST", "/api/v1/timer/stop", x.member, {});
    x.t.clock.set("2026-03-05T12:00:00.000Z");
    const d = await ok(
      x.t,
      200,
      "GET",
      "/api/v1/reports/detailed?from=2026-03-02&to=2026-03-02&tz=UTC&rounding=up&roundingMinutes=15",
      x.member,
    );
    const e = (d.data as { seconds: number; roundedSeconds: number }[])[0];
    expect(e?.seconds).toBe(900);
    // 15:00 rounded up to a quarter hour is 15:00, not 30:00.
    expect(e?.roundedSeconds).toBe(900);
    const s = (await ok(
      x.t,
      200,
      "GET",
      "/api/v1/reports/summary?from=2026-03-02&to=2026-03-02&tz=UTC&rounding=up&roundingMinutes=15",
      x.member,
    )) as unknown as Summary;
    expect(s.totals).toMatchObject({ rawSeconds: 900, seconds: 900 });
  });

  test("rounding down to 15 min: an entry shown as 900 s is not rounded down to 0", async () => {
    await entry(x, x.ana, "2026-03-03T09:00:00.400Z", "2026-03-03T09:15:00.100Z");
    const d = await ok(
      x.t,
      200,
      "GET",
      "/api/v1/reports/detailed?from=2026-03-03&to=2026-03-03&tz=UTC&rounding=down&roundingMinutes=15",
      x.member,
    );
    const e = (d.data as { seconds: number; roundedSeconds: number }[])[0];
    expect(e?.seconds).toBe(900);
    expect(e?.roundedSeconds).toBe(900);
  });

  test("no rounding: the groups' seconds add up to the total", async () => {
    // Two entries of 1000.5 s each, on different days, one per member.
    await entry(x, x.ana, "2026-03-10T09:00:00.000Z", "2026-03-10T09:16:40.500Z");
    await entry(x, x.bo, "2026-03-11T09:00:00.000Z", "2026-03-11T09:16:40.500Z");
    for (const by of ["member", "day"]) {
      const s = (await ok(
        x.t,
        200,
        "GET",
        `/api/v1/reports/summary?from=2026-03-09&to=2026-03-15&tz=UTC&groupBy=${by}`,
        x.admin,
      )) as unknown as Summary;
      const sum = s.groups.reduce((n, g) => n + g.seconds, 0);
      const rawSum = s.groups.reduce((n, g) => n + g.rawSeconds, 0);
      expect(`${by}: groups ${sum} / raw ${rawSum}`).toBe(
        `${by}: groups ${s.totals.seconds} / raw ${s.totals.rawSeconds}`,
      );
    }
  });
});

describe("zones that skip a calendar day", () => {
  test("Pacific/Apia, the skipped 30 December 2011 alone or at the end of a range → 422 naming tz (was a 500)", async () => {
    const statuses: string[] = [];
    for (const q of [
      "summary?from=2011-12-30&to=2011-12-30&tz=Pacific/Apia",
      "summary?from=2011-12-29&to=2011-12-30&tz=Pacific/Apia&groupBy=day",
      "detailed?from=2011-12-30&to=2011-12-30&tz=Pacific/Apia",
      "summary?from=2011-12-30&to=2011-12-30&tz=Pacific/Fakaofo",
    ]) {
      const r = await get(`/api/v1/reports/${q}`);
      const paths = ((r.body.errors ?? []) as { path: string }[]).map((e) => e.path).join(",");
      statuses.push(`${q}: ${r.status} ${paths}`);
    }
    expect(statuses.filter((s) => !s.endsWith(": 422 tz"))).toEqual([]);
  });
});
