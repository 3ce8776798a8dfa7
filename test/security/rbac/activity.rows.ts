/** Matrix rows for activity tracking: heartbeat ingest, member stats, profiles, app usage, timeline. */
import { eq } from "drizzle-orm";
import { memberships } from "../../../src/db/schema";
import { type Cell, inOrgA, membershipId, type Scenario, signedIn } from "./support";

const heartbeat = () => ({
  heartbeats: [
    { id: crypto.randomUUID(), time: "2026-01-05T08:59:00Z", duration: 30, app: "Code", idle: false },
  ],
});

/** The `member` fixture of organization A is the target: self for the member, another member for the rest. */
const memberA = async (x: Cell) => ({ id: await membershipId(x, x.fx.member) });
/** Organization B's admin's membership, asked for by A's admin. */
const memberB = async (x: Cell) => ({ id: await membershipId(x, x.fx.otherOrgAdmin) });

/** A's member for viewers of others' data: themselves (member), managers and admins; viewers 403. */
const ownOrReadAll = inOrgA(200, 200, 200, 403);

export const rows: Scenario[] = [
  {
    route: "POST /api/v1/ingest/heartbeats",
    // Agent tokens only: user sessions of every role are refused.
    expect: { ...signedIn(403) },
    prepare: async () => ({ body: heartbeat() }),
  },
  { route: "GET /api/v1/members/stats", expect: signedIn(200) },
  {
    route: "GET /api/v1/members/{id}/profile",
    expect: inOrgA(200, 200, 200, 200),
    prepare: async (x) => ({ params: await memberA(x) }),
    crossOrg: [async (x) => ({ params: await memberB(x) })],
  },
  {
    route: "PATCH /api/v1/members/{id}/profile",
    expect: ownOrReadAll,
    prepare: async (x) => ({ params: await memberA(x), body: { timezone: "Europe/Berlin" } }),
    crossOrg: [
      async (x) => {
        const params = await memberB(x);
        return {
          params,
          body: { timezone: "Europe/Berlin", displayName: "Hijacked" },
          intact: async () => {
            const [row] = await x.t.platform.db
              .select()
              .from(memberships)
              .where(eq(memberships.id, params.id));
            return row?.timezone === "UTC" && row.displayName === null;
          },
        };
      },
    ],
  },
  {
    route: "GET /api/v1/members/{id}/app-usage",
    expect: ownOrReadAll,
    prepare: async (x) => ({ params: await memberA(x) }),
    crossOrg: [async (x) => ({ params: await memberB(x) })],
  },
  {
    route: "GET /api/v1/members/{id}/timeline",
    expect: ownOrReadAll,
    prepare: async (x) => ({ params: await memberA(x) }),
    crossOrg: [async (x) => ({ params: await memberB(x) })],
  },
];
