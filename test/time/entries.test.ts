import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { outboxEvents, timeEntries, timeEntryTags } from "../../src/db/schema";
import type { DomainEvent } from "../../src/events/types";
import { createEntry } from "../../src/modules/time/entries.service";
import { call, memberIdOf, ok, reauth, setSettings, type Team, team } from "./support";

let x: Team;
let events: DomainEvent[];
beforeEach(async () => {
  x = await team();
  events = [];
  x.t.services.events.on("*", (e) => void events.push(e));
  x.t.services.events.consume("test-sink", "*", async () => {});
});
afterEach(() => x.t.close());

const entry = (start: string, end: string, extra: Record<string, unknown> = {}) => ({ start, end, ...extra });
const paths = (body: Record<string, unknown>) => (body.errors as { path: string }[]).map((e) => e.path);
const outboxTypes = async () =>
  (await x.t.platform.db.select().from(outboxEvents).orderBy(outboxEvents.occurredAt, outboxEvents.id)).map(
    (r) => r.type,
  );

describe("manual entries", () => {
  test("201 with the stored entry; Location; time_entry.created in the outbox of the same batch", async () => {
    const { t, member } = x;
    const res = await call(
      t,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-01T08:00:00+01:00", "2026-03-01T09:30:00+01:00", { description: "  Standup  " }),
    );
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`/api/v1/time-entries/${String(res.body.id)}`);
    const id = res.body.id as string;
    expect(id).toMatch(/^te_/);
    expect(res.body).toMatchObject({
      memberId: await memberIdOf(t, member),
      start: "2026-03-01T07:00:00.000Z",
      end: "2026-03-01T08:30:00.000Z",
      durationSeconds: 5400,
      description: "Standup",
      source: "manual",
      running: false,
    });
    const [row] = await t.platform.db
      .select()
      .from(outboxEvents)
      .where(eq(outboxEvents.type, "time_entry.created"));
    expect(JSON.parse(row?.payload ?? "{}").payload).toEqual({
      orgId: member.orgId,
      memberId: await memberIdOf(t, member),
      entryId: id,
      startAt: "2026-03-01T07:00:00.000Z",
      endAt: "2026-03-01T08:30:00.000Z",
      projectId: null,
      billable: false,
    });
    await t.platform.drain();
    expect(events.map((e) => e.type)).toEqual(["time_entry.created"]);
  });

  test("end must follow start; at most 24 h; dates between 2000 and 2100; each a 422 naming the field", async () => {
    const { t, member } = x;
    const cases: [Record<string, unknown>, string][] = [
      [entry("2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z"), "end"],
      [entry("2026-03-01T10:00:00Z", "2026-03-01T09:00:00Z"), "end"],
      [entry("2026-03-01T00:00:00Z", "2026-03-02T00:00:01Z"), "end"],
      [entry("1999-12-31T23:00:00Z", "2000-01-01T01:00:00Z"), "start"],
      [entry("2026-03-01", "2026-03-01T10:00:00Z"), "start"],
      [{ end: "2026-03-01T10:00:00Z" }, "start"],
      [entry("2026-03-01T08:00:00Z", "2026-03-01T09:00:00Z", { description: "a\u0000b" }), "description"],
    ];
    for (const [body, path] of cases) {
      const r = await call(t, "POST", "/api/v1/time-entries", member, body);
      expect(`${JSON.stringify(body)} → ${r.status}`).toBe(`${JSON.stringify(body)} → 422`);
      expect(paths(r.body)).toContain(path);
    }
    // Exactly 24 hours is allowed.
    await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"),
    );
    expect(await outboxTypes()).toEqual(["time_entry.created"]);
  });

  test("project and tags of another organization, or archived ones, are 422 naming the field", async () => {
    const { t, admin, member, other } = x;
    const theirs = await ok(t, 201, "POST", "/api/v1/projects", other, { name: "B project" });
    const theirTag = await ok(t, 201, "POST", "/api/v1/tags", other, { name: "b-tag" });
    const mine = await ok(t, 201, "POST", "/api/v1/tags", admin, { name: "ok" });
    const r = await call(
      t,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-01T08:00:00Z", "2026-03-01T09:00:00Z", {
        projectId: theirs.id,
        tagIds: [mine.id, theirTag.id],
      }),
    );
    expect(r.status).toBe(422);
    expect(paths(r.body)).toEqual(["projectId", "tagIds.1"]);
    const old = await ok(t, 201, "POST", "/api/v1/projects", admin, { name: "Old" });
    await ok(t, 200, "POST", `/api/v1/projects/${old.id}/archive`, admin);
    const archived = await call(
      t,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-01T08:00:00Z", "2026-03-01T09:00:00Z", { projectId: old.id }),
    );
    expect(archived.status).toBe(422);
    expect(archived.body.errors).toEqual([{ path: "projectId", message: "is archived", code: "archived" }]);
    expect(await t.platform.db.select().from(timeEntries)).toEqual([]);
  });

  test("memberId: managers create for others (time:manage); members get 403; unknown member 422", async () => {
    const { t, manager, member, other } = x;
    const target = await memberIdOf(t, member);
    const made = await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      manager,
      entry("2026-03-01T08:00:00Z", "2026-03-01T09:00:00Z", { memberId: target }),
    );
    expect(made.memberId).toBe(target);
    const forManager = await call(
      t,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z", { memberId: await memberIdOf(t, manager) }),
    );
    expect(forManager.status).toBe(403);
    const foreign = await call(
      t,
      "POST",
      "/api/v1/time-entries",
      manager,
      entry("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z", { memberId: await memberIdOf(t, other) }),
    );
    expect(foreign.status).toBe(422);
    expect(paths(foreign.body)).toEqual(["memberId"]);
  });
});

describe("overlap policy", () => {
  test("allow (default): overlapping entries are stored", async () => {
    const { t, member } = x;
    await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-01T08:00:00Z", "2026-03-01T10:00:00Z"),
    );
    await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-01T09:00:00Z", "2026-03-01T11:00:00Z"),
    );
  });

  test("refuse: 409 ENTRY_OVERLAP naming the conflicting entry; touching is fine; others' entries do not count", async () => {
    const { t, member, manager } = x;
    await setSettings(t, member.orgId, { overlapPolicy: "refuse" });
    const a = await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-01T08:00:00Z", "2026-03-01T10:00:00Z"),
    );
    for (const [s, e] of [
      ["2026-03-01T09:00:00Z", "2026-03-01T11:00:00Z"],
      ["2026-03-01T07:00:00Z", "2026-03-01T08:00:01Z"],
      ["2026-03-01T08:30:00Z", "2026-03-01T09:00:00Z"],
      ["2026-03-01T07:00:00Z", "2026-03-01T12:00:00Z"],
    ] as const) {
      const r = await call(t, "POST", "/api/v1/time-entries", member, entry(s, e));
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ code: "ENTRY_OVERLAP", conflictingEntryId: a.id });
    }
    await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
    );
    await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      manager,
      entry("2026-03-01T08:00:00Z", "2026-03-01T10:00:00Z"),
    );
    // An edit into another entry is refused too; moving within its own span is not an overlap with itself.
    const moved = await call(t, "PATCH", `/api/v1/time-entries/${a.id}`, member, {
      end: "2026-03-01T10:30:00Z",
    });
    expect(moved.status).toBe(409);
    await ok(t, 200, "PATCH", `/api/v1/time-entries/${a.id}`, member, { start: "2026-03-01T08:15:00Z" });
  });

  test("refuse: a running timer is open-ended; a timer cannot start inside an entry", async () => {
    const { t, member } = x;
    await setSettings(t, member.orgId, { overlapPolicy: "refuse" });
    const timer = await ok(t, 201, "POST", "/api/v1/timer/start", member, {}); // runs from 09:00, no end yet
    const later = await call(
      t,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-02T15:00:00Z", "2026-03-02T16:00:00Z"),
    );
    expect(later.body).toMatchObject({ code: "ENTRY_OVERLAP", conflictingEntryId: timer.id });
    await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-02T07:00:00Z", "2026-03-02T09:00:00Z"),
    );
    t.clock.set("2026-03-02T09:20:00Z");
    await reauth(t, member);
    await ok(t, 200, "POST", "/api/v1/timer/stop", member); // 09:00–09:20
    const inside = await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-02T09:30:00Z", "2026-03-02T10:30:00Z"),
    );
    t.clock.set("2026-03-02T10:00:00Z");
    await reauth(t, member);
    const blocked = await call(t, "POST", "/api/v1/timer/start", member, {});
    expect(blocked.status).toBe(409);
    expect(blocked.body).toMatchObject({ code: "ENTRY_OVERLAP", conflictingEntryId: inside.id });
    t.clock.set("2026-03-02T10:30:00Z");
    await reauth(t, member);
    await ok(t, 201, "POST", "/api/v1/timer/start", member, {}); // touching the entry's end is fine
  });

  test("refuse under concurrency: of 8 overlapping creates racing in the service, exactly one is stored", async () => {
    const { t, member } = x;
    await setSettings(t, member.orgId, { overlapPolicy: "refuse" });
    const deps = { db: t.platform.db, clock: t.clock, events: t.services.events };
    const actor = {
      orgId: member.orgId,
      userId: member.userId,
      memberId: await memberIdOf(t, member),
      canManage: false,
      canReadAll: false,
    };
    const settled = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        createEntry(deps, actor, entry(`2026-03-01T08:0${i}:00Z`, `2026-03-01T09:0${i}:00Z`)),
      ),
    );
    expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(1);
    for (const s of settled)
      if (s.status === "rejected") expect((s.reason as { status: number }).status).toBe(409);
    expect(await t.platform.db.select().from(timeEntries)).toHaveLength(1);
    expect((await outboxTypes()).filter((ty) => ty === "time_entry.created")).toHaveLength(1);
  });
});

describe("reading, editing, deleting", () => {
  async function seedEntries() {
    const { t, admin, member, manager } = x;
    const project = await ok(t, 201, "POST", "/api/v1/projects", admin, { name: "Billable", billable: true });
    const tag = await ok(t, 201, "POST", "/api/v1/tags", admin, { name: "focus" });
    const e1 = await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-01T08:00:00Z", "2026-03-01T09:00:00Z", { projectId: project.id }),
    );
    const e2 = await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z", { tagIds: [tag.id] }),
    );
    const e3 = await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      member,
      entry("2026-03-03T08:00:00Z", "2026-03-03T09:00:00Z"),
    );
    const m1 = await ok(
      t,
      201,
      "POST",
      "/api/v1/time-entries",
      manager,
      entry("2026-03-01T08:00:00Z", "2026-03-01T09:00:00Z"),
    );
    return { project, tag, e1, e2, e3, m1 };
  }
  const ids = (body: Record<string, unknown>): unknown[] => (body.data as { id: unknown }[]).map((e) => e.id);

  test("list: own entries by default, newest first; filters; cursor pages with a Link header", async () => {
    const { t, member, manager, viewer } = x;
    const s = await seedEntries();
    expect(ids(await ok(t, 200, "GET", "/api/v1/time-entries", member))).toEqual([s.e3.id, s.e2.id, s.e1.id]);
    expect(ids(await ok(t, 200, "GET", `/api/v1/time-entries?projectId=${s.project.id}`, member))).toEqual([
      s.e1.id,
    ]);
    expect(ids(await ok(t, 200, "GET", `/api/v1/time-entries?tagId=${s.tag.id}`, member))).toEqual([s.e2.id]);
    expect(ids(await ok(t, 200, "GET", "/api/v1/time-entries?billable=true", member))).toEqual([s.e1.id]);
    expect(
      ids(
        await ok(
          t,
          200,
          "GET",
          "/api/v1/time-entries?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z",
          member,
        ),
      ),
    ).toEqual([s.e2.id]);
    const first = await call(t, "GET", "/api/v1/time-entries?limit=2", member);
    expect(ids(first.body)).toEqual([s.e3.id, s.e2.id]);
    const link = first.headers.get("link") ?? "";
    expect(link).toContain('rel="next"');
    const next = /<([^>]+)>/.exec(link)?.[1] ?? "";
    const second = await ok(t, 200, "GET", next, member);
    expect(ids(second)).toEqual([s.e1.id]);
    expect(second.nextCursor).toBeNull();
    // Others' entries: data:read_all only.
    const memberId = await memberIdOf(t, member);
    expect(ids(await ok(t, 200, "GET", `/api/v1/time-entries?memberId=${memberId}`, manager))).toHaveLength(
      3,
    );
    expect(ids(await ok(t, 200, "GET", "/api/v1/time-entries?all=true", manager))).toHaveLength(4);
    expect(
      (await call(t, "GET", `/api/v1/time-entries?memberId=${await memberIdOf(t, manager)}`, member)).status,
    ).toBe(403);
    expect((await call(t, "GET", "/api/v1/time-entries?all=true", viewer)).status).toBe(403);
    expect((await call(t, "GET", "/api/v1/time-entries?memberId=mem_unknown", manager)).status).toBe(404);
    expect((await call(t, "GET", "/api/v1/time-entries?cursor=bogus", member)).status).toBe(422);
  });

  test("get and edit: owner or manager; another member's entry is 404 to a member; another org's id is 404", async () => {
    const { t, member, manager, viewer, other } = x;
    const s = await seedEntries();
    expect((await ok(t, 200, "GET", `/api/v1/time-entries/${s.e2.id}`, member)).tagIds).toEqual([s.tag.id]);
    expect((await call(t, "GET", `/api/v1/time-entries/${s.m1.id}`, member)).status).toBe(404);
    expect((await call(t, "GET", `/api/v1/time-entries/${s.e1.id}`, viewer)).status).toBe(404);
    expect((await call(t, "GET", `/api/v1/time-entries/${s.e1.id}`, other)).status).toBe(404);
    expect(
      (await call(t, "PATCH", `/api/v1/time-entries/${s.m1.id}`, member, { description: "x" })).status,
    ).toBe(404);
    const edited = await ok(t, 200, "PATCH", `/api/v1/time-entries/${s.e2.id}`, manager, {
      end: "2026-03-02T09:30:00Z",
      tagIds: [],
      projectId: s.project.id,
      billable: true,
    });
    expect(edited).toMatchObject({
      end: "2026-03-02T09:30:00.000Z",
      durationSeconds: 5400,
      tagIds: [],
      projectId: s.project.id,
      billable: true,
    });
    expect(
      await t.platform.db
        .select()
        .from(timeEntryTags)
        .where(eq(timeEntryTags.entryId, s.e2.id as string)),
    ).toEqual([]);
    const bad = await call(t, "PATCH", `/api/v1/time-entries/${s.e2.id}`, member, {
      start: "2026-03-02T10:00:00Z",
    });
    expect(bad.status).toBe(422);
    expect(paths(bad.body)).toEqual(["end"]);
    await t.platform.drain();
    const upd = events.find((e) => e.type === "time_entry.updated");
    expect(upd?.payload).toMatchObject({
      entryId: s.e2.id,
      endAt: "2026-03-02T09:30:00.000Z",
      previous: { startAt: "2026-03-02T08:00:00.000Z", endAt: "2026-03-02T09:00:00.000Z" },
    });
    expect([...((upd?.payload as { changes?: string[] } | undefined)?.changes ?? [])].sort()).toEqual([
      "billable",
      "end",
      "projectId",
      "tagIds",
    ]);
  });

  test("an archived project stays on its entries through edits, but cannot be newly set", async () => {
    const { t, admin, member } = x;
    const s = await seedEntries();
    await ok(t, 200, "POST", `/api/v1/projects/${s.project.id}/archive`, admin);
    await ok(t, 200, "PATCH", `/api/v1/time-entries/${s.e1.id}`, member, { description: "still fine" });
    const r = await call(t, "PATCH", `/api/v1/time-entries/${s.e3.id}`, member, { projectId: s.project.id });
    expect(r.status).toBe(422);
    expect(paths(r.body)).toEqual(["projectId"]);
  });

  test("soft delete: 204; gone from get, list, edit and reports; the row keeps deletedAt; event recorded", async () => {
    const { t, member, manager } = x;
    const s = await seedEntries();
    expect((await call(t, "DELETE", `/api/v1/time-entries/${s.m1.id}`, member)).status).toBe(404);
    expect((await call(t, "DELETE", `/api/v1/time-entries/${s.e1.id}`, member)).status).toBe(204);
    expect((await call(t, "GET", `/api/v1/time-entries/${s.e1.id}`, member)).status).toBe(404);
    expect(
      (await call(t, "PATCH", `/api/v1/time-entries/${s.e1.id}`, member, { description: "x" })).status,
    ).toBe(404);
    expect((await call(t, "DELETE", `/api/v1/time-entries/${s.e1.id}`, member)).status).toBe(404);
    expect(ids(await ok(t, 200, "GET", "/api/v1/time-entries", member))).toEqual([s.e3.id, s.e2.id]);
    expect(ids(await ok(t, 200, "GET", "/api/v1/time-entries?all=true", manager))).not.toContain(s.e1.id);
    const [row] = await t.platform.db
      .select()
      .from(timeEntries)
      .where(eq(timeEntries.id, s.e1.id as string));
    expect(row?.deletedAt).toBeInstanceOf(Date);
    const report = await ok(
      t,
      200,
      "GET",
      "/api/v1/reports/summary?from=2026-03-01&to=2026-03-03&tz=UTC&groupBy=day",
      member,
    );
    expect((report.totals as { seconds: number }).seconds).toBe(2 * 3600);
    expect(await outboxTypes()).toContain("time_entry.deleted");
    // A deleted project reference does not block deleting the project.
    expect((await call(t, "DELETE", `/api/v1/projects/${s.project.id}`, x.admin)).status).toBe(204);
  });
});
