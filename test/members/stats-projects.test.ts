/**
 * GET /api/v1/members/stats shows a running timer's project name from its 60 s cache: project
 * changes (`project.updated`, `project.deleted`) and tracking settings (week start) must invalidate it
 * like entry and member changes do.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { MemberStatsView } from "../../src/modules/members/stats.service";
import { type Tracker, tracker } from "../activity/support";
import { createTestApp, type TestApp } from "../support/app";
import { type SeededMember, seedMember } from "../support/identity";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  t.clock.set("2026-03-10T12:00:00Z");
});
afterAll(() => t?.close());

function send(who: { auth: Record<string, string> }, method: string, path: string, body?: unknown) {
  return t.app.request(path, {
    method,
    headers: { ...who.auth, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function statsOf(viewer: SeededMember, who: Tracker) {
  const res = await t.app.request("/api/v1/members/stats", { headers: viewer.auth });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: MemberStatsView[]; generatedAt: string };
  return { row: body.data.find((d) => d.memberId === who.memberId), generatedAt: body.generatedAt };
}

/** A member with a timer running on a new project, seen by an admin; the stats cache is warm. */
async function runningOnProject(name: string) {
  const who = await tracker(t);
  const admin = await seedMember(t, "admin", { orgId: who.orgId });
  const created = await send(admin, "POST", "/api/v1/projects", { name });
  expect(created.status).toBe(201);
  const project = (await created.json()) as { id: string };
  expect((await send(who, "POST", "/api/v1/timer/start", { projectId: project.id })).status).toBe(201);
  await t.platform.drain();
  const warm = await statsOf(admin, who);
  expect(warm.row?.runningTimer).toMatchObject({ projectId: project.id, projectName: name });
  return { who, admin, projectId: project.id, warm };
}

describe("members stats: project changes invalidate the cache", () => {
  test("renaming the project of a running timer shows the new name at once", async () => {
    const { who, admin, projectId } = await runningOnProject("Old name");
    t.clock.advance(1_000); // well within the 60 s cache
    const renamed = await send(admin, "PATCH", `/api/v1/projects/${projectId}`, { name: "New name" });
    expect(renamed.status).toBe(200);
    await t.platform.drain();
    expect((await statsOf(admin, who)).row?.runningTimer?.projectName).toBe("New name");
  });

  test("archiving, restoring or deleting a project recomputes the stats", async () => {
    const { who, admin, projectId, warm } = await runningOnProject("Kept");
    let last = warm.generatedAt;
    /** After the write, the stats are fresh (computed now), not the cached ones. */
    const recomputed = async () => {
      await t.platform.drain();
      const now = await statsOf(admin, who);
      expect(now.generatedAt).not.toBe(last);
      last = now.generatedAt;
      return now.row;
    };

    t.clock.advance(1_000);
    expect((await send(admin, "POST", `/api/v1/projects/${projectId}/archive`)).status).toBe(200);
    // An archived project keeps its name on the timer already running on it.
    expect((await recomputed())?.runningTimer).toMatchObject({ projectId, projectName: "Kept" });

    t.clock.advance(1_000);
    expect((await send(admin, "POST", `/api/v1/projects/${projectId}/unarchive`)).status).toBe(200);
    await recomputed();

    const unused = await send(admin, "POST", "/api/v1/projects", { name: "Unused" });
    expect(unused.status).toBe(201);
    t.clock.advance(1_000);
    const { id } = (await unused.json()) as { id: string };
    expect((await send(admin, "DELETE", `/api/v1/projects/${id}`)).status).toBe(204);
    await recomputed();

    // A no-op archive changes nothing and leaves the cache alone.
    t.clock.advance(1_000);
    expect((await send(admin, "POST", `/api/v1/projects/${projectId}/unarchive`)).status).toBe(200);
    await t.platform.drain();
    expect((await statsOf(admin, who)).generatedAt).toBe(last);
  });
});

describe("tracking settings", () => {
  test("changing the organization's weekStart changes 'this week' at once", async () => {
    const who = await tracker(t);
    const admin = await seedMember(t, "admin", { orgId: who.orgId });
    // Sunday 2026-03-08 10:00–11:00Z: outside a Monday week (today is Tuesday the 10th), inside a Sunday one.
    const entry = { start: "2026-03-08T10:00:00Z", end: "2026-03-08T11:00:00Z" };
    expect((await send(who, "POST", "/api/v1/time-entries", entry)).status).toBe(201);
    await t.platform.drain();
    expect((await statsOf(admin, who)).row?.trackedWeekSeconds).toBe(0);
    expect((await send(admin, "PATCH", "/api/v1/settings/tracking", { weekStart: "sunday" })).status).toBe(
      200,
    );
    await t.platform.drain();
    expect((await statsOf(admin, who)).row?.trackedWeekSeconds).toBe(3600);
  });
});
