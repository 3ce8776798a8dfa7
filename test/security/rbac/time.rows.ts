/** Matrix rows for tracking: settings, projects, tags, timer, time entries, reports. */
import { eq } from "drizzle-orm";
import { projects, tags, timeEntries } from "../../../src/db/schema";
import type { SeededMember } from "../../support/identity";
import { type Cell, inOrgA, must, type Scenario, signedIn } from "./support";

const project = async (x: Cell, who: SeededMember) =>
  (await must(x, "POST", "/api/v1/projects", who, { name: `P-${crypto.randomUUID()}` })).id as string;
const tag = async (x: Cell, who: SeededMember) =>
  (await must(x, "POST", "/api/v1/tags", who, { name: `T-${crypto.randomUUID().slice(0, 8)}` })).id as string;
const entry = async (x: Cell, who: SeededMember) =>
  (
    await must(x, "POST", "/api/v1/time-entries", who, {
      start: "2026-01-05T08:00:00Z",
      end: "2026-01-05T08:30:00Z",
      description: "matrix",
    })
  ).id as string;

const projectRow = (x: Cell, id: string) =>
  x.t.platform.db
    .select()
    .from(projects)
    .where(eq(projects.id, id))
    .then((r) => r[0]);
const tagRow = (x: Cell, id: string) =>
  x.t.platform.db
    .select()
    .from(tags)
    .where(eq(tags.id, id))
    .then((r) => r[0]);
const entryRow = (x: Cell, id: string) =>
  x.t.platform.db
    .select()
    .from(timeEntries)
    .where(eq(timeEntries.id, id))
    .then((r) => r[0]);

/** B's project/tag, unchanged after A's admin aimed a write at it. */
const crossProject = (body?: unknown) => async (x: Cell) => {
  const id = await project(x, x.fx.otherOrgAdmin);
  const before = await projectRow(x, id);
  return {
    params: { id },
    body,
    intact: async () => JSON.stringify(await projectRow(x, id)) === JSON.stringify(before),
  };
};
const crossTag = (body?: unknown) => async (x: Cell) => {
  const id = await tag(x, x.fx.otherOrgAdmin);
  const before = await tagRow(x, id);
  return {
    params: { id },
    body,
    intact: async () => JSON.stringify(await tagRow(x, id)) === JSON.stringify(before),
  };
};
const crossEntry = (body?: unknown) => async (x: Cell) => {
  const id = await entry(x, x.fx.otherOrgAdmin);
  const before = await entryRow(x, id);
  return {
    params: { id },
    body,
    intact: async () => JSON.stringify(await entryRow(x, id)) === JSON.stringify(before),
  };
};

/** Writers (admin, manager) of projects and tags; otherOrgAdmin writes in its own organization. */
const writers = (ok: number) => ({ ...signedIn(403), admin: ok, manager: ok, otherOrgAdmin: ok });
/** Members who track time (everyone but the viewer). */
const trackers = (ok: number) => ({ ...signedIn(ok), viewer: 403 });

export const rows: Scenario[] = [
  // Org tracking settings: every member reads, admins write.
  { route: "GET /api/v1/settings/tracking", expect: signedIn(200) },
  {
    route: "PATCH /api/v1/settings/tracking",
    expect: { ...signedIn(403), admin: 200, otherOrgAdmin: 200 },
    prepare: async () => ({ body: { overlapPolicy: "refuse" } }),
  },

  // Projects
  { route: "GET /api/v1/projects", expect: signedIn(200) },
  {
    route: "POST /api/v1/projects",
    expect: writers(201),
    prepare: async () => ({ body: { name: "Matrix project", color: "#112233" } }),
  },
  {
    route: "GET /api/v1/projects/{id}",
    expect: inOrgA(200, 200, 200, 200),
    prepare: async (x) => ({ params: { id: await project(x, x.fx.admin) } }),
    crossOrg: [crossProject()],
  },
  {
    route: "PATCH /api/v1/projects/{id}",
    expect: inOrgA(200, 200, 403, 403),
    prepare: async (x) => ({ params: { id: await project(x, x.fx.admin) }, body: { billable: true } }),
    crossOrg: [crossProject({ billable: true })],
  },
  ...(["archive", "unarchive"] as const).map(
    (action): Scenario => ({
      route: `POST /api/v1/projects/{id}/${action}`,
      expect: inOrgA(200, 200, 403, 403),
      prepare: async (x) => ({ params: { id: await project(x, x.fx.admin) } }),
      crossOrg: [crossProject()],
    }),
  ),
  {
    route: "DELETE /api/v1/projects/{id}",
    expect: inOrgA(204, 204, 403, 403),
    prepare: async (x) => ({ params: { id: await project(x, x.fx.admin) } }),
    crossOrg: [crossProject()],
  },

  // Tags
  { route: "GET /api/v1/tags", expect: signedIn(200) },
  { route: "POST /api/v1/tags", expect: writers(201), prepare: async () => ({ body: { name: "meeting" } }) },
  {
    route: "GET /api/v1/tags/{id}",
    expect: inOrgA(200, 200, 200, 200),
    prepare: async (x) => ({ params: { id: await tag(x, x.fx.admin) } }),
    crossOrg: [crossTag()],
  },
  {
    route: "PATCH /api/v1/tags/{id}",
    expect: inOrgA(200, 200, 403, 403),
    prepare: async (x) => ({ params: { id: await tag(x, x.fx.admin) }, body: { name: "renamed" } }),
    crossOrg: [crossTag({ name: "renamed" })],
  },
  ...(["archive", "unarchive"] as const).map(
    (action): Scenario => ({
      route: `POST /api/v1/tags/{id}/${action}`,
      expect: inOrgA(200, 200, 403, 403),
      prepare: async (x) => ({ params: { id: await tag(x, x.fx.admin) } }),
      crossOrg: [crossTag()],
    }),
  ),
  {
    route: "DELETE /api/v1/tags/{id}",
    expect: inOrgA(204, 204, 403, 403),
    prepare: async (x) => ({ params: { id: await tag(x, x.fx.admin) } }),
    crossOrg: [crossTag()],
  },

  // Timer: the caller's own (ids never appear in these paths).
  { route: "GET /api/v1/timer", expect: signedIn(200) },
  { route: "POST /api/v1/timer/start", expect: trackers(201), prepare: async () => ({ body: {} }) },
  {
    route: "POST /api/v1/timer/stop",
    expect: trackers(200),
    prepare: async (x) => {
      if (x.me && x.me !== x.fx.viewer) await must(x, "POST", "/api/v1/timer/start", x.me, {});
      return {};
    },
  },

  // Time entries: own by default; others' need data:read_all (read) or time:manage (write), else 404.
  { route: "GET /api/v1/time-entries", expect: signedIn(200) },
  {
    route: "POST /api/v1/time-entries",
    expect: trackers(201),
    prepare: async () => ({ body: { start: "2026-01-05T07:00:00Z", end: "2026-01-05T07:45:00Z" } }),
  },
  {
    route: "GET /api/v1/time-entries/{id}",
    // A's plain member's entry: the member (owner), admins and managers see it; the viewer gets 404.
    expect: inOrgA(200, 200, 200, 404),
    prepare: async (x) => ({ params: { id: await entry(x, x.fx.member) } }),
    crossOrg: [crossEntry()],
  },
  {
    route: "PATCH /api/v1/time-entries/{id}",
    expect: inOrgA(200, 200, 200, 403),
    prepare: async (x) => ({ params: { id: await entry(x, x.fx.member) }, body: { description: "edited" } }),
    crossOrg: [crossEntry({ description: "edited" })],
  },
  {
    route: "DELETE /api/v1/time-entries/{id}",
    expect: inOrgA(204, 204, 204, 403),
    prepare: async (x) => ({ params: { id: await entry(x, x.fx.member) } }),
    crossOrg: [crossEntry()],
  },

  // Reports: every member (members see only their own time; see test/reports).
  { route: "GET /api/v1/reports/summary", expect: signedIn(200) },
  { route: "GET /api/v1/reports/detailed", expect: signedIn(200) },
  { route: "GET /api/v1/reports/weekly", expect: signedIn(200) },
];
