/**
 * Who sees what, and the detailed report. Fixture (UTC, tz=UTC): Ana (member) 3 entries, Bo (manager) 1.
 *   A1 Mon 2026-03-02 08:00–09:00  Alpha  3600 s
 *   A2 Mon 2026-03-02 10:00–10:07  Beta   420 s  (rounded up to 15 min: 900)
 *   A3 Tue 2026-03-03 23:30 → Wed 00:30    1800 s on Tue, 1800 s on Wed (whole in the detailed report)
 *   B1 Mon 2026-03-02 12:00–14:00  Alpha  7200 s
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, entry, type Fixture, fixture, ok, type Summary } from "./support";

let x: Fixture;
let ids: { a1: string; a2: string; a3: string; b1: string };
beforeAll(async () => {
  x = await fixture("2026-03-05T12:00:00.000Z");
  ids = {
    a1: await entry(x, x.ana, "2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z", { projectId: x.alpha }),
    a2: await entry(x, x.ana, "2026-03-02T10:00:00Z", "2026-03-02T10:07:00Z", { projectId: x.beta }),
    a3: await entry(x, x.ana, "2026-03-03T23:30:00Z", "2026-03-04T00:30:00Z"),
    b1: await entry(x, x.bo, "2026-03-02T12:00:00Z", "2026-03-02T14:00:00Z", { projectId: x.alpha }),
  };
  await ok(x.t, 201, "POST", "/api/v1/tags", x.admin, { name: "focus" });
});
afterAll(() => x.t.close());

const RANGE = "from=2026-03-02&to=2026-03-08&tz=UTC";
const total = async (who: Fixture["member"], query = "") =>
  (
    (await ok(
      x.t,
      200,
      "GET",
      `/api/v1/reports/summary?${RANGE}&groupBy=member${query}`,
      who,
    )) as unknown as Summary
  ).totals.seconds;

describe("report visibility", () => {
  test("a member sees only their own time; asking for someone else is 403", async () => {
    expect(await total(x.member)).toBe(3600 + 420 + 3600);
    expect(
      (await call(x.t, "GET", `/api/v1/reports/summary?${RANGE}&memberIds=${x.bo}`, x.member)).status,
    ).toBe(403);
    expect(
      (await call(x.t, "GET", `/api/v1/reports/weekly?week=2026-03-02&memberIds=${x.bo}`, x.member)).status,
    ).toBe(403);
    const weekly = await ok(x.t, 200, "GET", "/api/v1/reports/weekly?week=2026-03-02&tz=UTC", x.member);
    expect((weekly.members as { memberId: string }[]).map((m) => m.memberId)).toEqual([x.ana]);
  });

  test("managers, admins and viewers see the organization's aggregates", async () => {
    for (const who of [x.admin, x.manager, x.viewer]) expect(await total(who)).toBe(7620 + 7200);
    expect(await total(x.viewer, `&memberIds=${x.bo}`)).toBe(7200);
  });

  test("another organization's admin sees none of it", async () => {
    expect(await total(x.other)).toBe(0);
    expect(await total(x.other, `&memberIds=${x.ana}`)).toBe(0);
  });
});

describe("detailed report", () => {
  const detailed = async (who: Fixture["member"], query = "") =>
    ok(x.t, 200, "GET", `/api/v1/reports/detailed?${RANGE}${query}`, who);

  test("whole entries by start time, names resolved, rounding per entry", async () => {
    const r = await detailed(x.manager, "&rounding=up&roundingMinutes=15");
    expect(r.data).toEqual([
      expect.objectContaining({
        id: ids.a1,
        memberName: "Ana",
        projectName: "Alpha",
        seconds: 3600,
        roundedSeconds: 3600,
      }),
      expect.objectContaining({
        id: ids.a2,
        projectName: "Beta",
        seconds: 420,
        roundedSeconds: 900,
        billable: false,
      }),
      expect.objectContaining({ id: ids.b1, memberName: "Bo", seconds: 7200, billable: true }),
      expect.objectContaining({
        id: ids.a3,
        projectId: null,
        start: "2026-03-03T23:30:00.000Z",
        end: "2026-03-04T00:30:00.000Z",
        seconds: 3600,
      }),
    ]);
    expect(r.nextCursor).toBeNull();
  });

  test("members and viewers see their own entries only; another member's id is 403", async () => {
    expect(((await detailed(x.member)).data as { id: string }[]).map((e) => e.id)).toEqual([
      ids.a1,
      ids.a2,
      ids.a3,
    ]);
    expect((await detailed(x.viewer)).data).toEqual([]);
    expect(
      (await call(x.t, "GET", `/api/v1/reports/detailed?${RANGE}&memberIds=${x.ana}`, x.viewer)).status,
    ).toBe(403);
  });

  test("paginated with a cursor and a Link header; filters apply", async () => {
    const first = await call(x.t, "GET", `/api/v1/reports/detailed?${RANGE}&limit=3`, x.admin);
    expect((first.body.data as { id: string }[]).map((e) => e.id)).toEqual([ids.a1, ids.a2, ids.b1]);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get("link") ?? "")?.[1] ?? "";
    expect(next).toContain("cursor=");
    const second = await ok(x.t, 200, "GET", next, x.admin);
    expect((second.data as { id: string }[]).map((e) => e.id)).toEqual([ids.a3]);
    const billable = await detailed(x.admin, "&billable=true");
    expect((billable.data as { id: string }[]).map((e) => e.id)).toEqual([ids.a1, ids.b1]);
    const beta = await detailed(x.admin, `&projectIds=${x.beta}`);
    expect((beta.data as { id: string }[]).map((e) => e.id)).toEqual([ids.a2]);
  });

  test("an entry crossing the range start is listed whole; the summary counts only its part inside", async () => {
    // Range starting Wed 4: A3 overlaps it by 1800 s.
    const d = await ok(
      x.t,
      200,
      "GET",
      "/api/v1/reports/detailed?from=2026-03-04&to=2026-03-04&tz=UTC",
      x.member,
    );
    expect((d.data as { id: string; seconds: number }[]).map((e) => [e.id, e.seconds])).toEqual([
      [ids.a3, 3600],
    ]);
    const s = (await ok(
      x.t,
      200,
      "GET",
      "/api/v1/reports/summary?from=2026-03-04&to=2026-03-04&tz=UTC",
      x.member,
    )) as unknown as Summary;
    expect(s.totals.seconds).toBe(1800);
  });

  test("defaults: this week in the organization's zone", async () => {
    // The clock stands on Thu 2026-03-05; Monday weeks in UTC: 2026-03-02 … 2026-03-08.
    const s = await ok(x.t, 200, "GET", "/api/v1/reports/summary", x.member);
    expect(s).toMatchObject({ from: "2026-03-02", to: "2026-03-08", tz: "UTC", weekStart: "monday" });
    expect((s as unknown as Summary).totals.seconds).toBe(7620);
  });
});
