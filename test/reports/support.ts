import { and, eq } from "drizzle-orm";
import { memberships } from "../../src/db/schema";
import type { SeededMember } from "../support/identity";
import { call, memberIdOf, ok, type Team, team } from "../time/support";

export { call, ok };

export interface Fixture extends Team {
  ana: string;
  bo: string;
  alpha: string;
  beta: string;
}

async function rename(x: Team, m: SeededMember, name: string) {
  await x.t.platform.db
    .update(memberships)
    .set({ displayName: name })
    .where(and(eq(memberships.orgId, m.orgId), eq(memberships.userId, m.userId)));
}

/** Creates a stopped entry through the API, as the manager (for Ana, the plain member) or as Bo himself. */
export async function entry(
  x: Fixture,
  memberId: string,
  start: string,
  end: string,
  extra: { projectId?: string } = {},
): Promise<string> {
  const body = await ok(x.t, 201, "POST", "/api/v1/time-entries", x.manager, {
    start,
    end,
    memberId,
    ...extra,
  });
  return body.id as string;
}

/**
 * Organization A: Ana (role member) and Bo (role manager), projects Alpha (billable) and Beta (not
 * billable). The clock stands at `now`.
 */
export async function fixture(now: string): Promise<Fixture> {
  const x = await team(now);
  await rename(x, x.member, "Ana");
  await rename(x, x.manager, "Bo");
  const alpha = (await ok(x.t, 201, "POST", "/api/v1/projects", x.admin, { name: "Alpha", billable: true }))
    .id as string;
  const beta = (await ok(x.t, 201, "POST", "/api/v1/projects", x.admin, { name: "Beta" })).id as string;
  return { ...x, ana: await memberIdOf(x.t, x.member), bo: await memberIdOf(x.t, x.manager), alpha, beta };
}

export interface Figures {
  key: string | null;
  label: string;
  seconds: number;
  billableSeconds: number;
  rawSeconds: number;
  entries: number;
  subGroups?: Figures[];
}

export interface Summary {
  tz: string;
  weekStart: string;
  totals: Omit<Figures, "key" | "label">;
  groups: Figures[];
}

/** `label → seconds` of the groups (or of one group's sub-groups). */
export const secondsBy = (groups: Figures[]) => Object.fromEntries(groups.map((g) => [g.label, g.seconds]));
