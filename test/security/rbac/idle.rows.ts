/** Matrix rows for idle time: listing, reading and resolving idle periods. */
import { eq } from "drizzle-orm";
import { idlePeriods, timeEntries } from "../../../src/db/schema";
import { newId } from "../../../src/lib/ids";
import type { SeededMember } from "../../support/identity";
import { type Cell, inOrgA, membershipId, type Scenario, signedIn } from "./support";

/** A stopped 2-hour entry of `who` with an ended, open 40-minute idle period inside it. */
async function idlePeriod(x: Cell, who: SeededMember): Promise<string> {
  const db = x.t.platform.db;
  const memberId = await membershipId(x, who);
  const entryId = newId("timeEntry");
  const at = (hhmm: string) => new Date(`2026-01-05T${hhmm}:00Z`);
  await db.insert(timeEntries).values({
    id: entryId,
    orgId: who.orgId,
    memberId,
    description: "matrix",
    startAt: at("08:00"),
    endAt: at("10:00"),
    source: "timer",
    createdAt: at("10:00"),
    updatedAt: at("10:00"),
  });
  const id = newId("idlePeriod");
  await db.insert(idlePeriods).values({
    id,
    orgId: who.orgId,
    memberId,
    entryId,
    startAt: at("08:40"),
    endAt: at("09:20"),
    detectedAt: at("09:10"),
    createdAt: at("09:10"),
    updatedAt: at("09:10"),
  });
  return id;
}

const periodRow = (x: Cell, id: string) =>
  x.t.platform.db
    .select()
    .from(idlePeriods)
    .where(eq(idlePeriods.id, id))
    .then((r) => r[0]);

/** B's idle period, unchanged after A's admin aimed a request at it. */
const crossPeriod = (body?: unknown) => async (x: Cell) => {
  const id = await idlePeriod(x, x.fx.otherOrgAdmin);
  const before = await periodRow(x, id);
  return {
    params: { id },
    body,
    intact: async () => JSON.stringify(await periodRow(x, id)) === JSON.stringify(before),
  };
};

export const rows: Scenario[] = [
  // Own periods for everyone who can read time; others' need data:read_all (see test/idle).
  { route: "GET /api/v1/idle-periods", expect: signedIn(200) },
  {
    route: "GET /api/v1/idle-periods/{id}",
    // A's plain member's period: the member (owner), admins and managers see it; the viewer gets 404.
    expect: inOrgA(200, 200, 200, 404),
    prepare: async (x) => ({ params: { id: await idlePeriod(x, x.fx.member) } }),
    crossOrg: [crossPeriod()],
  },
  {
    route: "POST /api/v1/idle-periods/{id}/resolve",
    // The owner, or time:manage; the viewer cannot track time at all.
    expect: inOrgA(200, 200, 200, 403),
    prepare: async (x) => ({ params: { id: await idlePeriod(x, x.fx.member) }, body: { action: "split" } }),
    crossOrg: [crossPeriod({ action: "split" })],
  },
];
