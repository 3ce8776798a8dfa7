/**
 * Writes of time entries racing other writes: a project or tag deleted or archived between the
 * reference check and the commit, a stop between an edit's read and its commit, and edits that
 * change nothing. The window between check and commit is opened deterministically: a database whose
 * first `batch` lets another write commit before it runs (what a concurrent request does).
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { Db } from "../../src/db/client";
import { memberships, outboxEvents, timeEntries, timeEntryTags } from "../../src/db/schema";
import { toAppError } from "../../src/http/problem";
import { remove, setArchived } from "../../src/modules/projects/projects.service";
import { createEntry, updateEntry } from "../../src/modules/time/entries.service";
import { type Actor, startTimer, stopTimer, type TimeDeps } from "../../src/modules/time/time.service";
import { call, memberIdOf, ok, reauth, type Team, team } from "./support";

let x: Team;
beforeEach(async () => {
  x = await team();
  x.t.services.events.consume("test-sink", "*", async () => {});
});
afterEach(() => x.t.close());

/** The platform's database, except that its first `batch` waits for `meanwhile` to commit first. */
function racingDb(meanwhile: () => Promise<unknown>): Db {
  const db = x.t.platform.db;
  let fired = false;
  return new Proxy(db, {
    get(target, prop, receiver) {
      if (prop === "batch")
        return async (items: unknown) => {
          if (!fired) {
            fired = true;
            await meanwhile();
          }
          return (target.batch as (i: unknown) => Promise<unknown>).call(target, items);
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as Db;
}

const deps = (db: Db): TimeDeps => ({ db, clock: x.t.clock, events: x.t.services.events });
const catalog = () => ({ db: x.t.platform.db, clock: x.t.clock, events: x.t.services.events });

async function actorOf(m: Team["member"], canManage = false): Promise<Actor> {
  return {
    orgId: m.orgId,
    userId: m.userId,
    memberId: await memberIdOf(x.t, m),
    canManage,
    canReadAll: canManage,
  };
}

/** The problem a request would answer with: its status, code and field paths. */
async function outcome(p: Promise<unknown>) {
  try {
    await p;
    return { status: 200, code: undefined, paths: [] as string[] };
  } catch (err) {
    const e = toAppError(err);
    return { status: e.status, code: e.code, paths: (e.fieldErrors ?? []).map((f) => f.path) };
  }
}

const entries = () => x.t.platform.db.select().from(timeEntries);
const eventsOf = async (type: string) =>
  (await x.t.platform.db.select().from(outboxEvents)).filter((e) => e.type === type);

describe("a project or tag removed between the check and the commit", () => {
  test("manual entry whose project is deleted meanwhile: 422 naming projectId, nothing stored", async () => {
    const { t, admin, member } = x;
    const p = await ok(t, 201, "POST", "/api/v1/projects", admin, { name: "Doomed" });
    const db = racingDb(() => remove(catalog(), "project", admin.orgId, p.id as string));
    const r = await outcome(
      createEntry(deps(db), await actorOf(member), {
        start: "2026-03-01T08:00:00Z",
        end: "2026-03-01T09:00:00Z",
        projectId: p.id as string,
      }),
    );
    expect(r).toEqual({ status: 422, code: "VALIDATION_FAILED", paths: ["projectId"] });
    expect(await entries()).toEqual([]);
    expect(await eventsOf("time_entry.created")).toEqual([]);
  });

  test("timer whose tag is deleted meanwhile: 422 naming the tag's index, no timer, no event", async () => {
    const { t, admin, member } = x;
    const keep = await ok(t, 201, "POST", "/api/v1/tags", admin, { name: "keep" });
    const tag = await ok(t, 201, "POST", "/api/v1/tags", admin, { name: "doomed" });
    const db = racingDb(() => remove(catalog(), "tag", admin.orgId, tag.id as string));
    const r = await outcome(
      startTimer(deps(db), await actorOf(member), { tagIds: [keep.id as string, tag.id as string] }),
    );
    expect(r).toEqual({ status: 422, code: "VALIDATION_FAILED", paths: ["tagIds.1"] });
    expect(await entries()).toEqual([]);
    expect(await eventsOf("timer.started")).toEqual([]);
  });

  test("timer whose project is archived meanwhile: 422, the running timer before it keeps running", async () => {
    const { t, admin, member } = x;
    const first = await ok(t, 201, "POST", "/api/v1/timer/start", member, {});
    const p = await ok(t, 201, "POST", "/api/v1/projects", admin, { name: "Closing" });
    const db = racingDb(() => setArchived(catalog(), "project", admin.orgId, p.id as string, true));
    const r = await outcome(startTimer(deps(db), await actorOf(member), { projectId: p.id as string }));
    expect(r).toEqual({ status: 422, code: "VALIDATION_FAILED", paths: ["projectId"] });
    // stop_previous's stop of the first timer was in the same batch: rolled back with it.
    const rows = await entries();
    expect(rows.map((e) => [e.id, e.endAt, e.projectId])).toEqual([[first.id as string, null, null]]);
  });

  test("edit adding a tag archived meanwhile: 422 naming it, the entry and its tags unchanged", async () => {
    const { t, admin, member } = x;
    const kept = await ok(t, 201, "POST", "/api/v1/tags", admin, { name: "kept" });
    const added = await ok(t, 201, "POST", "/api/v1/tags", admin, { name: "added" });
    const e = await ok(t, 201, "POST", "/api/v1/time-entries", member, {
      start: "2026-03-01T08:00:00Z",
      end: "2026-03-01T09:00:00Z",
      tagIds: [kept.id],
    });
    const db = racingDb(() => setArchived(catalog(), "tag", admin.orgId, added.id as string, true));
    const r = await outcome(
      updateEntry(deps(db), await actorOf(member), e.id as string, {
        description: "more",
        tagIds: [kept.id as string, added.id as string],
      }),
    );
    expect(r).toEqual({ status: 422, code: "VALIDATION_FAILED", paths: ["tagIds.1"] });
    const [row] = await entries();
    expect([row?.description, row?.updatedAt.toISOString()]).toEqual(["", e.updatedAt as string]);
    const tags = await t.platform.db.select().from(timeEntryTags);
    expect(tags.map((g) => g.tagId)).toEqual([kept.id as string]);
  });

  test("over HTTP: creating entries while their projects are deleted never answers 500", async () => {
    const { t, admin, member } = x;
    const seen = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const p = await ok(t, 201, "POST", "/api/v1/projects", admin, { name: `P${i}` });
      const create = call(t, "POST", "/api/v1/time-entries", member, {
        start: "2026-03-01T08:00:00Z",
        end: "2026-03-01T08:30:00Z",
        projectId: p.id,
      });
      for (let k = 0; k < i; k++) await Promise.resolve(); // the delete lands a little later each round
      const [c, d] = await Promise.all([create, call(t, "DELETE", `/api/v1/projects/${p.id}`, admin)]);
      seen.add(c.status);
      // Either the entry came first (the project is in use: 409) or the delete did (the entry: 422).
      expect([c.status, d.status]).toEqual(c.status === 201 ? [201, 409] : [422, 204]);
    }
    expect([...seen].filter((s) => s >= 500)).toEqual([]);
  });

  test("a reference no guard covers (the member removed meanwhile) answers 409 REFERENCE_CHANGED, not 500", async () => {
    const { t, manager, member } = x;
    const memberId = await memberIdOf(t, member);
    const db = racingDb(() => t.platform.db.delete(memberships).where(eq(memberships.id, memberId)));
    const r = await outcome(
      createEntry(deps(db), await actorOf(manager, true), {
        start: "2026-03-01T08:00:00Z",
        end: "2026-03-01T09:00:00Z",
        memberId,
      }),
    );
    expect(r).toEqual({ status: 409, code: "REFERENCE_CHANGED", paths: [] });
    expect(await entries()).toEqual([]);
  });
});

describe("tag errors name the request's own index", () => {
  const paths = (body: Record<string, unknown>) => (body.errors as { path: string }[]).map((e) => e.path);

  test("create and timer start: a bad tag after a repeated one is tagIds.2", async () => {
    const { t, admin, member } = x;
    const tag = await ok(t, 201, "POST", "/api/v1/tags", admin, { name: "a" });
    const tagIds = [tag.id, tag.id, "tag_nope"];
    const created = await call(t, "POST", "/api/v1/time-entries", member, {
      start: "2026-03-01T08:00:00Z",
      end: "2026-03-01T09:00:00Z",
      tagIds,
    });
    const started = await call(t, "POST", "/api/v1/timer/start", member, { tagIds });
    expect([created.status, paths(created.body)]).toEqual([422, ["tagIds.2"]]);
    expect([started.status, paths(started.body)]).toEqual([422, ["tagIds.2"]]);
  });

  test("edit: an archived tag added after a kept (also archived) one is tagIds.1", async () => {
    const { t, admin, member } = x;
    const kept = await ok(t, 201, "POST", "/api/v1/tags", admin, { name: "kept" });
    const old = await ok(t, 201, "POST", "/api/v1/tags", admin, { name: "old" });
    const e = await ok(t, 201, "POST", "/api/v1/time-entries", member, {
      start: "2026-03-01T08:00:00Z",
      end: "2026-03-01T09:00:00Z",
      tagIds: [kept.id],
    });
    await ok(t, 200, "POST", `/api/v1/tags/${kept.id}/archive`, admin);
    await ok(t, 200, "POST", `/api/v1/tags/${old.id}/archive`, admin);
    const r = await call(t, "PATCH", `/api/v1/time-entries/${e.id}`, member, { tagIds: [kept.id, old.id] });
    expect([r.status, paths(r.body)]).toEqual([422, ["tagIds.1"]]);
    // Keeping an archived tag is fine.
    const same = await call(t, "PATCH", `/api/v1/time-entries/${e.id}`, member, {
      tagIds: [kept.id],
      description: "x",
    });
    expect([same.status, same.body.tagIds]).toEqual([200, [kept.id]]);
  });
});

describe("versions (updatedAt) only move forward", () => {
  test("a timer stopped at its 7-day cap is a newer version than an edit made after the cap", async () => {
    const { t, member } = x;
    const started = await ok(t, 201, "POST", "/api/v1/timer/start", member, {});
    t.clock.advance(8 * 86_400_000);
    await reauth(t, member);
    const edited = await ok(t, 200, "PATCH", `/api/v1/time-entries/${started.id}`, member, {
      description: "late",
    });
    t.clock.advance(86_400_000);
    await reauth(t, member);
    const stopped = await ok(t, 200, "POST", "/api/v1/timer/stop", member);
    expect(stopped.flag).toBe("max_duration");
    expect(stopped.updatedAt).toBe(t.clock.now().toISOString());
    const got = await ok(t, 200, "GET", `/api/v1/time-entries/${started.id}`, member);
    expect([got.updatedAt, got.end]).toEqual([stopped.updatedAt, stopped.end]);
    expect(Date.parse(got.updatedAt as string)).toBeGreaterThan(Date.parse(edited.updatedAt as string));
  });

  test("an edit that read the running timer before a stop in the same millisecond does not restart it", async () => {
    const { t, member } = x;
    const started = await ok(t, 201, "POST", "/api/v1/timer/start", member, {});
    const actor = await actorOf(member);
    const db = racingDb(() => stopTimer(deps(t.platform.db), actor));
    const edited = await updateEntry(deps(db), actor, started.id as string, { description: "renamed" });
    // The edit re-read the stopped entry and applied to it.
    expect([edited.description, edited.end === null]).toEqual(["renamed", false]);
    const [row] = await entries();
    expect([row?.description, row?.endAt === null]).toEqual(["renamed", false]);
    expect(await eventsOf("timer.stopped")).toHaveLength(1);
    expect((await ok(t, 200, "GET", "/api/v1/timer", member)).timer).toBeNull();
  });
});

describe("an edit that changes nothing writes nothing", () => {
  test("PATCH {} and PATCH with the stored values: 200, same version, no time_entry.updated", async () => {
    const { t, admin, member } = x;
    const tag = await ok(t, 201, "POST", "/api/v1/tags", admin, { name: "a" });
    const e = await ok(t, 201, "POST", "/api/v1/time-entries", member, {
      start: "2026-03-01T08:00:00Z",
      end: "2026-03-01T09:00:00Z",
      description: "same",
      tagIds: [tag.id],
    });
    t.clock.advance(60_000);
    for (const patch of [
      {},
      { description: "same", start: "2026-03-01T09:00:00+01:00", tagIds: [tag.id, tag.id], billable: false },
    ]) {
      const r = await call(t, "PATCH", `/api/v1/time-entries/${e.id}`, member, patch);
      expect([r.status, r.body.updatedAt, r.body.description, r.body.tagIds]).toEqual([
        200,
        e.updatedAt,
        "same",
        [tag.id],
      ]);
    }
    expect(await eventsOf("time_entry.updated")).toEqual([]);
    const [row] = await entries();
    expect(row?.updatedAt.toISOString()).toBe(e.updatedAt as string);
  });

  test("a PATCH that changes one field lists only that field in the event's changes", async () => {
    const { t, member } = x;
    const e = await ok(t, 201, "POST", "/api/v1/time-entries", member, {
      start: "2026-03-01T08:00:00Z",
      end: "2026-03-01T09:00:00Z",
      description: "same",
    });
    await ok(t, 200, "PATCH", `/api/v1/time-entries/${e.id}`, member, {
      description: "same",
      end: "2026-03-01T09:30:00Z",
    });
    const [updated] = await eventsOf("time_entry.updated");
    const stored = JSON.parse(updated?.payload as string) as { payload: { changes: string[] } };
    expect(stored.payload.changes).toEqual(["end"]);
  });
});
