import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { auditLog, orgSettings } from "../../src/db/schema";
import { call, ok, type Team, team } from "./support";

let x: Team;
beforeEach(async () => {
  x = await team();
});
afterEach(() => x.t.close());

const DEFAULTS = {
  timezone: "UTC",
  weekStart: "monday",
  timerMode: "stop_previous",
  overlapPolicy: "allow",
  idleThresholdSeconds: 300,
  pulsetimeSeconds: 60,
  staleTimerSeconds: 3600,
  idleAlertSeconds: 1800,
  idleAlertEmail: false,
  privacyRules: [],
  updatedAt: null,
};

describe("tracking settings", () => {
  test("defaults (the column defaults) until an admin saves; every member reads them", async () => {
    for (const who of [x.admin, x.manager, x.member, x.viewer])
      expect(await ok(x.t, 200, "GET", "/api/v1/settings/tracking", who)).toEqual(DEFAULTS);
    expect(await x.t.platform.db.select().from(orgSettings)).toEqual([]);
  });

  test("PATCH (admin): partial upsert, audited with the changes; others 403; another org untouched", async () => {
    const { t, admin, manager, member, other } = x;
    const rules = [
      { field: "title", pattern: "(?:bank|payroll)", action: "redact" },
      { field: "url", pattern: "^https://intranet\\.", action: "drop" },
    ];
    const out = await ok(t, 200, "PATCH", "/api/v1/settings/tracking", admin, {
      timezone: "Europe/Berlin",
      overlapPolicy: "refuse",
      privacyRules: rules,
    });
    expect(out).toEqual({
      ...DEFAULTS,
      timezone: "Europe/Berlin",
      overlapPolicy: "refuse",
      privacyRules: rules,
      updatedAt: "2026-03-02T09:00:00.000Z",
    });
    const again = await ok(t, 200, "PATCH", "/api/v1/settings/tracking", admin, { weekStart: "sunday" });
    expect(again).toMatchObject({ timezone: "Europe/Berlin", weekStart: "sunday", privacyRules: rules });
    expect(await ok(t, 200, "GET", "/api/v1/settings/tracking", member)).toEqual(again);
    expect(await ok(t, 200, "GET", "/api/v1/settings/tracking", other)).toEqual(DEFAULTS);
    for (const who of [manager, member]) {
      const r = await call(t, "PATCH", "/api/v1/settings/tracking", who, { timezone: "UTC" });
      expect(r.status).toBe(403);
    }
    const audits = await t.platform.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, "settings.tracking_updated"));
    expect(audits).toHaveLength(2);
    expect(JSON.parse(audits[0]?.metadata ?? "{}")).toEqual({
      changes: {
        timezone: { from: "UTC", to: "Europe/Berlin" },
        overlapPolicy: { from: "allow", to: "refuse" },
        privacyRules: { from: [], to: rules },
      },
    });
  });

  test("stored rules that cannot be read (which drop everything) are replaced by any list an admin sends, [] included", async () => {
    const { t, admin } = x;
    await t.platform.db
      .insert(orgSettings)
      .values({ orgId: admin.orgId, privacyRules: "{corrupt", updatedAt: t.clock.now() });
    expect(await ok(t, 200, "GET", "/api/v1/settings/tracking", admin)).toMatchObject({ privacyRules: [] });
    await ok(t, 200, "PATCH", "/api/v1/settings/tracking", admin, { privacyRules: [] });
    const [row] = await t.platform.db.select().from(orgSettings).where(eq(orgSettings.orgId, admin.orgId));
    expect(row?.privacyRules).toBe("[]");
    // Sending the same list again changes nothing and audits nothing more.
    await ok(t, 200, "PATCH", "/api/v1/settings/tracking", admin, { privacyRules: [] });
    const audits = await t.platform.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, "settings.tracking_updated"));
    expect(audits).toHaveLength(1);
  });

  test("validation: tz, enums, ranges, privacy rule shape, regex validity and length — 422 naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ timezone: "Mars/Olympus" }, "timezone"],
      [{ weekStart: "friday" }, "weekStart"],
      [{ timerMode: "both" }, "timerMode"],
      [{ idleThresholdSeconds: 5 }, "idleThresholdSeconds"],
      [{ pulsetimeSeconds: 1.5 }, "pulsetimeSeconds"],
      [{ privacyRules: [{ field: "body", pattern: "x", action: "drop" }] }, "privacyRules.0.field"],
      [{ privacyRules: [{ field: "title", pattern: "([a-z]", action: "drop" }] }, "privacyRules.0.pattern"],
      // RE2 syntax: no lookaround, no backreferences (linear-time matching, activity/privacy.ts).
      [
        { privacyRules: [{ field: "title", pattern: "pay(?=roll)", action: "drop" }] },
        "privacyRules.0.pattern",
      ],
      [{ privacyRules: [{ field: "title", pattern: "(a)\\1", action: "drop" }] }, "privacyRules.0.pattern"],
      // Matching cost is bounded by program size: one pattern, and the list as a whole.
      [
        { privacyRules: [{ field: "url", pattern: "(?:\\w|/){1000}", action: "drop" }] },
        "privacyRules.0.pattern",
      ],
      [
        {
          privacyRules: Array.from({ length: 6 }, (_, i) => ({
            field: "url",
            pattern: `(?:\\w|/){190}${i}`,
            action: "drop",
          })),
        },
        "privacyRules",
      ],
      [
        { privacyRules: [{ field: "title", pattern: "x".repeat(201), action: "drop" }] },
        "privacyRules.0.pattern",
      ],
      [{ privacyRules: [{ field: "title", pattern: "x", action: "hide" }] }, "privacyRules.0.action"],
      [
        { privacyRules: [{ field: "title", pattern: "x", action: "drop", flags: "i" }] },
        "privacyRules.0.flags",
      ],
      [
        { privacyRules: Array.from({ length: 51 }, () => ({ field: "app", pattern: "x", action: "drop" })) },
        "privacyRules",
      ],
      [{ colour: "blue" }, "colour"],
    ];
    for (const [body, path] of cases) {
      const r = await call(x.t, "PATCH", "/api/v1/settings/tracking", x.admin, body);
      expect(`${JSON.stringify(body).slice(0, 60)} → ${r.status}`).toBe(
        `${JSON.stringify(body).slice(0, 60)} → 422`,
      );
      expect((r.body.errors as { path: string }[]).map((e) => e.path)).toContain(path);
    }
    expect(await x.t.platform.db.select().from(orgSettings)).toEqual([]);
  });

  test("the org time zone and week start are the reports' defaults", async () => {
    const { t, admin, member } = x;
    await ok(t, 200, "PATCH", "/api/v1/settings/tracking", admin, {
      timezone: "America/New_York",
      weekStart: "sunday",
    });
    const r = await ok(t, 200, "GET", "/api/v1/reports/summary?from=2026-03-01&to=2026-03-07", member);
    expect(r).toMatchObject({ tz: "America/New_York", weekStart: "sunday" });
  });
});
