import { afterAll, beforeEach } from "bun:test";
import { asc, eq } from "drizzle-orm";
import { activitySpans, heartbeats, memberships, orgSettings } from "../../src/db/schema";
import { createTestApp, type TestApp } from "../support/app";
import { type SeededMember, seedMember } from "../support/identity";
import { createAgent } from "../tokens/support";

export interface Hb {
  id: string;
  time: string;
  duration: number;
  app: string;
  title?: string | null;
  url?: string | null;
  idle: boolean;
  keyboard?: number | null;
  mouse?: number | null;
}

export interface Tracker extends SeededMember {
  memberId: string;
  agent: Record<string, string>;
}

/** A member (of `orgId`, or a new organization) with an enrolled agent. */
export async function tracker(
  t: TestApp,
  role: "admin" | "manager" | "member" | "viewer" = "member",
  opts: { orgId?: string } = {},
): Promise<Tracker> {
  const m = await seedMember(t, role, opts);
  const [row] = await t.platform.db.select().from(memberships).where(eq(memberships.userId, m.userId));
  const a = await createAgent(t, m, `device-${crypto.randomUUID().slice(0, 8)}`);
  return { ...m, memberId: (row as { id: string }).id, agent: { authorization: `Bearer ${a.token}` } };
}

export function post(t: TestApp, auth: Record<string, string>, body: unknown) {
  return t.app.request("/api/v1/ingest/heartbeats", {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

export async function ingest(t: TestApp, who: Tracker, hbs: Hb[]) {
  const res = await post(t, who.agent, { heartbeats: hbs });
  if (res.status !== 200) throw new Error(`ingest: ${res.status} ${await res.text()}`);
  return (await res.json()) as { accepted: number; duplicates: number; dropped: number; status: string };
}

export function get(t: TestApp, who: { auth: Record<string, string> }, path: string) {
  return t.app.request(path, { headers: who.auth });
}

let seq = 0;
/** A heartbeat at `at` (ISO or ms) with sensible defaults. */
export function hb(at: string | number, fields: Partial<Hb> = {}): Hb {
  const time = typeof at === "number" ? new Date(at).toISOString() : at;
  return { id: `hb-${++seq}`, time, duration: 0, app: "Code", title: "main.ts", idle: false, ...fields };
}

export async function setSettings(
  t: TestApp,
  orgId: string,
  values: Partial<typeof orgSettings.$inferInsert>,
) {
  await t.platform.db
    .insert(orgSettings)
    .values({ orgId, updatedAt: t.clock.now(), ...values })
    .onConflictDoUpdate({ target: orgSettings.orgId, set: values });
}

export async function storedHeartbeats(t: TestApp, memberId: string) {
  return t.platform.db
    .select()
    .from(heartbeats)
    .where(eq(heartbeats.memberId, memberId))
    .orderBy(asc(heartbeats.time));
}

/** The member's span pieces in stream order, as comparable plain objects. */
export async function storedPieces(t: TestApp, memberId: string) {
  const rows = await t.platform.db
    .select()
    .from(activitySpans)
    .where(eq(activitySpans.memberId, memberId))
    .orderBy(asc(activitySpans.lastTime), asc(activitySpans.lastClientId), asc(activitySpans.startAt));
  return rows.map((r) => ({
    start: r.startAt,
    end: r.endAt,
    spanStart: r.spanStart,
    app: r.app,
    title: r.title,
    url: r.url,
    idle: r.idle,
    heartbeats: r.heartbeats,
  }));
}

/** Logical spans (pieces of one span joined), for readable assertions. */
export async function storedSpans(t: TestApp, memberId: string) {
  const out: {
    start: string;
    end: string;
    app: string;
    title: string | null;
    idle: boolean;
    heartbeats: number;
  }[] = [];
  let last: (typeof out)[number] | undefined;
  let lastStart = Number.NaN;
  for (const p of await storedPieces(t, memberId)) {
    if (last && p.spanStart === lastStart && new Date(last.end).getTime() === p.start) {
      last.end = new Date(p.end).toISOString();
      continue;
    }
    last = {
      start: new Date(p.start).toISOString(),
      end: new Date(p.end).toISOString(),
      app: p.app,
      title: p.title,
      idle: p.idle,
      heartbeats: p.heartbeats,
    };
    lastStart = p.spanStart;
    out.push(last);
  }
  return out;
}

/** A new app for every test of the file, its clock at `at`; `use` receives it (the last one is closed after all). */
export function freshAppEachTest(at: string, use: (t: TestApp) => void): void {
  let current: TestApp | undefined;
  beforeEach(async () => {
    await current?.close();
    current = await createTestApp();
    current.clock.set(at);
    use(current);
  });
  afterAll(() => current?.close());
}
