/**
 * Project and tag names are unique per organization ignoring the case of ASCII letters, also when
 * two requests race past the service's check (the unique `lower(name)` indexes of migration 0009),
 * and a database that already holds such twins (stored by that race before 0009) upgrades in place.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { projects, tags } from "../../src/db/schema";
import { databaseBefore } from "../support/migrations";
import { call, type Team, team } from "./support";

describe("names racing", () => {
  let x: Team;
  beforeEach(async () => {
    x = await team();
  });
  afterEach(() => x.t.close());

  for (const kind of ["projects", "tags"] as const) {
    test(`two concurrent creates of one ${kind} name in different case: one 201, the other 409`, async () => {
      const { t, admin } = x;
      for (let i = 0; i < 5; i++) {
        const results = await Promise.all(
          [`Race${i}`, `RACE${i}`].map((name) => call(t, "POST", `/api/v1/${kind}`, admin, { name })),
        );
        expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
        const refused = results.find((r) => r.status === 409);
        expect(refused?.body.code).toBe(kind === "projects" ? "PROJECT_NAME_TAKEN" : "TAG_NAME_TAKEN");
      }
      expect(await t.platform.db.select().from(kind === "projects" ? projects : tags)).toHaveLength(5);
    });
  }

  test("a rename racing a create of the same name in other case: one of them is refused", async () => {
    const { t, admin } = x;
    const p = await call(t, "POST", "/api/v1/projects", admin, { name: "First" });
    const [renamed, created] = await Promise.all([
      call(t, "PATCH", `/api/v1/projects/${p.body.id}`, admin, { name: "Shared" }),
      call(t, "POST", "/api/v1/projects", admin, { name: "SHARED" }),
    ]);
    // Whichever commits first wins; the other is a 409, never a second "shared".
    const outcomes = [`rename ${renamed.status}`, `create ${created.status}`].sort();
    expect([
      ["create 201", "rename 409"],
      ["create 409", "rename 200"],
    ]).toContainEqual(outcomes);
  });
});

describe("migration 0009", () => {
  test("twins differing only in case get their id's tail added to the later one's name; the index then holds", async () => {
    const { client, migrateRest } = await databaseBefore("0009_names_ignoring_case");
    const now = Date.UTC(2026, 2, 2);
    const row = (table: string, id: string, org: string, name: string) =>
      table === "projects"
        ? {
            sql: "INSERT INTO projects (id, org_id, name, color, created_at, updated_at) VALUES (?, ?, ?, '#000000', ?, ?)",
            args: [id, org, name, now, now],
          }
        : {
            sql: "INSERT INTO tags (id, org_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            args: [id, org, name, now, now],
          };
    await client.batch(
      [
        ...["org_a", "org_b"].map((id) => ({
          sql: "INSERT INTO organizations (id, name, created_at, updated_at) VALUES (?, 'O', ?, ?)",
          args: [id, now, now],
        })),
        row("projects", "prj_0000000001", "org_a", "Website"),
        row("projects", "prj_0000000002", "org_a", "WEBSITE"),
        row("projects", "prj_0000000003", "org_b", "website"), // another organization: kept
        row("tags", "tag_0000000001", "org_a", "urgent"),
        row("tags", "tag_0000000002", "org_a", "Urgent"),
      ],
      "write",
    );
    const { applied } = await migrateRest();
    expect(applied).toContain("0009_names_ignoring_case");
    const names = async (table: string) =>
      (await client.execute(`SELECT id, name FROM ${table} ORDER BY id`)).rows.map((r) => [r.id, r.name]);
    expect(await names("projects")).toEqual([
      ["prj_0000000001", "Website"],
      ["prj_0000000002", "WEBSITE (000002)"],
      ["prj_0000000003", "website"],
    ]);
    expect(await names("tags")).toEqual([
      ["tag_0000000001", "urgent"],
      ["tag_0000000002", "Urgent (000002)"],
    ]);
    await expect(client.execute(row("projects", "prj_0000000004", "org_a", "website"))).rejects.toThrow(
      /UNIQUE/,
    );
    client.close();
  });
});
