/**
 * Lone surrogates (`"\ud800"` in JSON) are refused on every JSON body with a 422 naming the field:
 * stored through `json_extract` they are not UTF-8, and libSQL aborted the whole process when it read
 * one back (found by test/fuzz/routes.fuzz.test.ts: an agent's heartbeat then any timeline read).
 * Calendar dates beyond what a day can end in (9999-12-31) are a 422 too, not a 500.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { heartbeats, projects } from "../../src/db/schema";
import { illFormedPath } from "../../src/http/fields";
import { hb, type Tracker, tracker } from "../activity/support";
import { createTestApp, type TestApp } from "../support/app";

let t: TestApp;
let ana: Tracker;
let admin: Tracker;
beforeAll(async () => {
  t = await createTestApp();
  ana = await tracker(t);
  admin = await tracker(t, "admin", { orgId: ana.orgId });
});
afterAll(() => t?.close());

/** POST `text` as it is (JSON escapes kept: JSON.stringify would not write a lone surrogate so). */
const postRaw = (path: string, auth: Record<string, string>, text: string) =>
  t.app.request(path, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: text,
  });

describe("lone surrogates", () => {
  test("a heartbeat's app, title or url with one: 422 naming it, nothing stored, the server keeps serving", async () => {
    const base = hb("2026-03-02T09:00:00Z", { duration: 30, keyboard: 3 });
    for (const [field, path] of [
      ["app", "heartbeats.1.app"],
      ["title", "heartbeats.1.title"],
      ["url", "heartbeats.1.url"],
    ] as const) {
      const bad = JSON.stringify({ ...base, id: `bad-${field}`, [field]: "X" }).replace(
        '"X"',
        '"ab\\ud800cd"',
      );
      const text = `{"heartbeats":[${JSON.stringify({ ...base, id: `ok-${field}` })},${bad}]}`;
      const res = await postRaw("/api/v1/ingest/heartbeats", ana.agent, text);
      expect(res.status).toBe(422);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      const body = (await res.json()) as { code: string; errors: { path: string; message: string }[] };
      expect(body.code).toBe("VALIDATION_FAILED");
      expect(body.errors).toEqual([
        expect.objectContaining({ path, message: "must be well-formed Unicode (no lone surrogate)" }),
      ]);
    }
    expect(
      await t.platform.db.select().from(heartbeats).where(eq(heartbeats.memberId, ana.memberId)),
    ).toEqual([]);
    const timeline = await t.app.request("/api/v1/members/me/timeline?date=2026-03-02&tz=UTC", {
      headers: ana.auth,
    });
    expect(timeline.status).toBe(200);
  });

  test("any JSON route, in a value or a key; a proper surrogate pair is text like any other", async () => {
    const refused = await postRaw("/api/v1/projects", admin.auth, '{"name":"Focus \\udfff"}');
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual([
      "name",
    ]);
    // A key no schema knows is refused as unknown (strict objects), named as sent.
    const key = await postRaw("/api/v1/projects", admin.auth, '{"name":"Focus","\\ud800x":1}');
    expect(key.status).toBe(422);
    expect(((await key.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual([
      "\ud800x",
    ]);
    // Checked after the route's authorization: anonymous, the same body is a 401.
    const anonymous = await postRaw("/api/v1/projects", {}, '{"name":"Focus \\udfff"}');
    expect(anonymous.status).toBe(401);
    const whole = await postRaw("/api/v1/tags", admin.auth, '"\\ud800"');
    expect(whole.status).toBe(422);
    expect(((await whole.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual([
      "body",
    ]);
    const pair = await postRaw("/api/v1/projects", admin.auth, '{"name":"Focus \\ud83d\\ude00"}');
    expect(pair.status).toBe(201);
    const { id } = (await pair.json()) as { id: string };
    const [row] = await t.platform.db.select().from(projects).where(eq(projects.id, id));
    expect(row?.name).toBe("Focus 😀");
  });

  test("illFormedPath: paths through arrays and objects (an ill-formed key named with U+FFFD), and no stack to overflow", () => {
    expect(illFormedPath({ ok: { "\ud800k": 1 } })).toBe("ok.\ufffdk");
    expect(illFormedPath({ a: [1, "ok", { b: "\ud800" }] })).toBe("a.2.b");
    expect(illFormedPath(["\udc00"])).toBe("0");
    expect(illFormedPath("\ud83d\ude00")).toBeNull();
    let deep: unknown = "\udbff";
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(illFormedPath(deep)?.split(".")).toHaveLength(200_000);
  });
});

describe("calendar dates", () => {
  test("timeline and app usage: a date past 2099 is a 422 naming it, not a 500", async () => {
    for (const route of ["timeline", "app-usage"]) {
      for (const date of ["9999-12-31", "2100-01-01", "1999-12-31"]) {
        const res = await t.app.request(`/api/v1/members/me/${route}?date=${date}`, { headers: ana.auth });
        expect([route, date, res.status]).toEqual([route, date, 422]);
        const body = (await res.json()) as { errors: { path: string }[] };
        expect(body.errors.map((e) => e.path)).toEqual(["date"]);
      }
      const last = await t.app.request(`/api/v1/members/me/${route}?date=2099-12-31`, { headers: ana.auth });
      expect([route, last.status]).toEqual([route, 200]);
    }
  });
});
