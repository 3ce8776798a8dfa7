/** Reports at the edges: Saturday weeks, billable entries without a project, another organization's members, per-group rounding with sub-groups, a full year, tampered cursors, running and deleted entries. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, entry, type Fixture, fixture, ok, type Summary } from "./support";

let x: Fixture;
beforeAll(async () => {
  x = await fixture("2026-03-20T12:00:00.000Z");
  // Fri 13 22:00 → Sat 14 02:00 UTC (crosses into Saturday), no project, billable.
  await ok(x.t, 201, "POST", "/api/v1/time-entries", x.manager, {
    start: "2026-03-13T22:00:00Z",
    end: "2026-03-14T02:00:00Z",
    memberId: x.ana,
    billable: true,
  });
  // Sat 14 23:00 → Sun 15 01:00 UTC, Alpha.
  await entry(x, x.ana, "2026-03-14T23:00:00Z", "2026-03-15T01:00:00Z", { projectId: x.alpha });
  // Org B entry the same week.
  await ok(x.t, 201, "POST", "/api/v1/time-entries", x.other, {
    start: "2026-03-14T08:00:00Z",
    end: "2026-03-14T09:00:00Z",
  });
});
afterAll(() => x.t.close());

const S = async (q: string, who = x.admin) =>
  (await ok(x.t, 200, "GET", `/api/v1/reports/summary?tz=UTC&${q}`, who)) as unknown as Summary;

describe("reports: checked and fine", () => {
  test("weekStart=saturday: week keys and split at the Saturday midnight", async () => {
    const r = await S("from=2026-03-09&to=2026-03-22&groupBy=week&weekStart=saturday");
    // Fri 13 22:00–Sat 00:00 (7200) in week of Sat 7; Sat 14 00:00–02:00 (7200) + 3600 + 3600 in week of Sat 14.
    expect(r.groups.map((g) => [g.key, g.seconds, g.entries])).toEqual([
      ["2026-03-07", 7200, 1],
      ["2026-03-14", 14400, 2],
    ]);
  });

  test("billable filter counts a billable entry without project; no project group present", async () => {
    const r = await S("from=2026-03-09&to=2026-03-22&groupBy=project&billable=true");
    expect(r.groups.map((g) => [g.key, g.seconds])).toEqual([
      [x.alpha, 7200],
      [null, 14400],
    ]);
    expect(r.totals.billableSeconds).toBe(21600);
  });

  test("another org's member id in memberIds leaks nothing; org B admin sees only its own", async () => {
    const otherMember = (
      await call(
        x.t,
        "GET",
        "/api/v1/reports/summary?tz=UTC&from=2026-03-09&to=2026-03-22&groupBy=member",
        x.other,
      )
    ).body as unknown as Summary;
    expect(otherMember.totals.seconds).toBe(3600);
    const otherId = otherMember.groups[0]?.key as string;
    expect((await S(`from=2026-03-09&to=2026-03-22&memberIds=${otherId}`)).totals.seconds).toBe(0);
    expect((await S(`from=2026-03-09&to=2026-03-22&memberIds=${otherId}`, x.viewer)).totals.seconds).toBe(0);
    const d = await ok(
      x.t,
      200,
      "GET",
      `/api/v1/reports/detailed?tz=UTC&from=2026-03-09&to=2026-03-22&memberIds=${otherId}`,
      x.admin,
    );
    expect(d.data).toEqual([]);
  });

  test("per-group rounding with sub-groups, nearest, 60 minutes: totals add the groups", async () => {
    const r = await S(
      "from=2026-03-09&to=2026-03-22&groupBy=day&subGroup=project&rounding=nearest&roundingMinutes=60&roundingScope=group",
    );
    expect(r.totals.seconds).toBe(r.groups.reduce((n, g) => n + g.seconds, 0));
  });

  test("a full 366-day range grouped by week and day", async () => {
    const r = await S("from=2025-03-21&to=2026-03-21&groupBy=week&subGroup=day");
    expect(r.totals.seconds).toBe(21600);
  });

  test("detailed: tampered cursors → 422", async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    for (const c of ["%%%", b64({ s: 1e300, i: "x" }), b64({ s: 1, i: 5 }), b64(null)]) {
      const r = await call(x.t, "GET", `/api/v1/reports/detailed?tz=UTC&cursor=${c}`, x.admin);
      expect(`${c}: ${r.status}`).toBe(`${c}: 422`);
    }
  });

  test("running timer and soft-deleted entries are not in weekly or detailed", async () => {
    x.t.clock.set("2026-03-16T08:00:00.000Z");
    await ok(x.t, 201, "POST", "/api/v1/timer/start", x.member, {});
    const gone = await entry(x, x.ana, "2026-03-16T05:00:00Z", "2026-03-16T06:00:00Z");
    await ok(x.t, 204, "DELETE", `/api/v1/time-entries/${gone}`, x.manager);
    x.t.clock.set("2026-03-16T12:00:00.000Z");
    const w = await ok(x.t, 200, "GET", "/api/v1/reports/weekly?tz=UTC&week=2026-03-16", x.admin);
    expect((w.totals as { totalSeconds: number }).totalSeconds).toBe(0);
    const d = await ok(
      x.t,
      200,
      "GET",
      "/api/v1/reports/detailed?tz=UTC&from=2026-03-16&to=2026-03-16",
      x.admin,
    );
    expect(d.data).toEqual([]);
  });
});
