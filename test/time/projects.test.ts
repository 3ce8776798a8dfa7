import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { projects, tags } from "../../src/db/schema";
import { call, ok, type Team, team } from "./support";

let x: Team;
beforeEach(async () => {
  x = await team();
});
afterEach(() => x.t.close());

const names = (body: Record<string, unknown>) => (body.data as { name: string }[]).map((p) => p.name);

describe("projects", () => {
  test("create: defaults, color normalised, Location; managers may, members and viewers may not", async () => {
    const { t, admin, manager, member, viewer } = x;
    const res = await call(t, "POST", "/api/v1/projects", manager, {
      name: " Website ",
      color: "#A1B2C3",
      clientName: "Acme",
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`/api/v1/projects/${res.body.id}`);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^prj_/),
      name: "Website",
      color: "#a1b2c3",
      billable: false,
      clientName: "Acme",
      archived: false,
      archivedAt: null,
      createdAt: "2026-03-02T09:00:00.000Z",
      updatedAt: "2026-03-02T09:00:00.000Z",
    });
    expect((await ok(t, 201, "POST", "/api/v1/projects", admin, { name: "Plain" })).color).toBe("#3b82f6");
    expect((await call(t, "POST", "/api/v1/projects", member, { name: "Nope" })).status).toBe(403);
    expect((await call(t, "POST", "/api/v1/projects", viewer, { name: "Nope" })).status).toBe(403);
  });

  test("validation: color #rrggbb, name required and clean, unknown fields refused — 422 naming each", async () => {
    const { t, admin } = x;
    for (const [body, path] of [
      [{ name: "X", color: "red" }, "color"],
      [{ name: "X", color: "#abcd" }, "color"],
      [{ name: "" }, "name"],
      [{ name: "a\nb" }, "name"],
      [{ name: "x".repeat(101) }, "name"],
      [{ name: "X", owner: "me" }, "owner"],
      [{}, "name"],
    ] as const) {
      const r = await call(t, "POST", "/api/v1/projects", admin, body);
      expect(r.status).toBe(422);
      expect((r.body.errors as { path: string }[]).map((e) => e.path)).toEqual([path]);
    }
    expect(await t.platform.db.select().from(projects)).toEqual([]);
  });

  test("names are unique per organization ignoring case (409), and free across organizations", async () => {
    const { t, admin, other } = x;
    const a = await ok(t, 201, "POST", "/api/v1/projects", admin, { name: "Apollo" });
    const dup = await call(t, "POST", "/api/v1/projects", admin, { name: "apollo" });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe("PROJECT_NAME_TAKEN");
    await ok(t, 201, "POST", "/api/v1/projects", other, { name: "Apollo" });
    const b = await ok(t, 201, "POST", "/api/v1/projects", admin, { name: "Gemini" });
    expect((await call(t, "PATCH", `/api/v1/projects/${b.id}`, admin, { name: "APOLLO" })).status).toBe(409);
    // Renaming a project onto its own name (another case) is fine.
    expect((await ok(t, 200, "PATCH", `/api/v1/projects/${a.id}`, admin, { name: "APOLLO" })).name).toBe(
      "APOLLO",
    );
  });

  test("concurrent creates of one name: one 201, the others 409 (the unique index decides), never 500", async () => {
    const { t, admin } = x;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => call(t, "POST", "/api/v1/projects", admin, { name: "Race" })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
  });

  test("list: by name, active by default, archived filter, search, billable; cursor and Link", async () => {
    const { t, admin, viewer } = x;
    for (const [name, billable] of [
      ["Delta", false],
      ["alpha", true],
      ["Charlie", true],
      ["Bravo", false],
    ] as const)
      await ok(t, 201, "POST", "/api/v1/projects", admin, { name, billable });
    const bravo = (await ok(t, 200, "GET", "/api/v1/projects?q=rav", viewer)).data as { id: string }[];
    expect(bravo).toHaveLength(1);
    await ok(t, 200, "POST", `/api/v1/projects/${bravo[0]?.id}/archive`, admin);
    // SQLite's default collation: upper case sorts before lower case.
    expect(names(await ok(t, 200, "GET", "/api/v1/projects", viewer))).toEqual(["Charlie", "Delta", "alpha"]);
    expect(names(await ok(t, 200, "GET", "/api/v1/projects?archived=true", viewer))).toEqual(["Bravo"]);
    expect(names(await ok(t, 200, "GET", "/api/v1/projects?archived=all&billable=true", viewer))).toEqual([
      "Charlie",
      "alpha",
    ]);
    const p1 = await call(t, "GET", "/api/v1/projects?archived=all&limit=3", viewer);
    expect(names(p1.body)).toEqual(["Bravo", "Charlie", "Delta"]);
    const next = /<([^>]+)>; rel="next"/.exec(p1.headers.get("link") ?? "")?.[1] ?? "";
    expect(names(await ok(t, 200, "GET", next, viewer))).toEqual(["alpha"]);
  });

  test("archive and unarchive are idempotent and change archivedAt", async () => {
    const { t, admin } = x;
    const p = await ok(t, 201, "POST", "/api/v1/projects", admin, { name: "Old" });
    t.clock.advance(60_000);
    const a1 = await ok(t, 200, "POST", `/api/v1/projects/${p.id}/archive`, admin);
    expect(a1).toMatchObject({ archived: true, archivedAt: "2026-03-02T09:01:00.000Z" });
    t.clock.advance(60_000);
    expect((await ok(t, 200, "POST", `/api/v1/projects/${p.id}/archive`, admin)).archivedAt).toBe(
      a1.archivedAt,
    );
    expect(await ok(t, 200, "POST", `/api/v1/projects/${p.id}/unarchive`, admin)).toMatchObject({
      archived: false,
      archivedAt: null,
    });
  });

  test("delete: 204 when unused; 409 PROJECT_IN_USE while a live entry references it; another org's id 404", async () => {
    const { t, admin, member, other } = x;
    const unused = await ok(t, 201, "POST", "/api/v1/projects", admin, { name: "Unused" });
    expect((await call(t, "DELETE", `/api/v1/projects/${unused.id}`, admin)).status).toBe(204);
    expect(
      await t.platform.db
        .select()
        .from(projects)
        .where(eq(projects.id, unused.id as string)),
    ).toEqual([]);
    const used = await ok(t, 201, "POST", "/api/v1/projects", admin, { name: "Used" });
    const e = await ok(t, 201, "POST", "/api/v1/time-entries", member, {
      start: "2026-03-01T08:00:00Z",
      end: "2026-03-01T09:00:00Z",
      projectId: used.id,
    });
    const r = await call(t, "DELETE", `/api/v1/projects/${used.id}`, admin);
    expect(r.status).toBe(409);
    expect(r.body.code).toBe("PROJECT_IN_USE");
    expect((await call(t, "DELETE", `/api/v1/projects/${used.id}`, other)).status).toBe(404);
    expect((await call(t, "GET", `/api/v1/projects/${used.id}`, other)).status).toBe(404);
    expect((await call(t, "PATCH", `/api/v1/projects/${used.id}`, other, { name: "Mine" })).status).toBe(404);
    expect((await call(t, "DELETE", "/api/v1/projects/prj_missing", admin)).status).toBe(404);
    await ok(t, 204, "DELETE", `/api/v1/time-entries/${e.id}`, member);
    expect((await call(t, "DELETE", `/api/v1/projects/${used.id}`, admin)).status).toBe(204);
  });
});

describe("tags", () => {
  test("CRUD, unique names ignoring case, archive, delete refused while in use", async () => {
    const { t, admin, manager, member, other } = x;
    const tag = await ok(t, 201, "POST", "/api/v1/tags", manager, { name: "meeting" });
    expect(tag.id).toMatch(/^tag_/);
    expect(tag).toMatchObject({ name: "meeting", archived: false });
    expect((await call(t, "POST", "/api/v1/tags", admin, { name: "Meeting" })).body.code).toBe(
      "TAG_NAME_TAKEN",
    );
    expect((await call(t, "POST", "/api/v1/tags", member, { name: "mine" })).status).toBe(403);
    expect((await ok(t, 200, "PATCH", `/api/v1/tags/${tag.id}`, admin, { name: "sync" })).name).toBe("sync");
    expect(names(await ok(t, 200, "GET", "/api/v1/tags", member))).toEqual(["sync"]);
    await ok(t, 201, "POST", "/api/v1/time-entries", member, {
      start: "2026-03-01T08:00:00Z",
      end: "2026-03-01T09:00:00Z",
      tagIds: [tag.id],
    });
    expect((await call(t, "DELETE", `/api/v1/tags/${tag.id}`, admin)).body.code).toBe("TAG_IN_USE");
    expect((await ok(t, 200, "POST", `/api/v1/tags/${tag.id}/archive`, admin)).archived).toBe(true);
    expect(names(await ok(t, 200, "GET", "/api/v1/tags", member))).toEqual([]);
    expect(names(await ok(t, 200, "GET", "/api/v1/tags?archived=true", member))).toEqual(["sync"]);
    expect((await call(t, "GET", `/api/v1/tags/${tag.id}`, other)).status).toBe(404);
    const [row] = await t.platform.db
      .select()
      .from(tags)
      .where(eq(tags.id, tag.id as string));
    expect(row?.archivedAt).toBeInstanceOf(Date);
    expect((await call(t, "POST", `/api/v1/tags/${tag.id}/unarchive`, other)).status).toBe(404);
  });
});
