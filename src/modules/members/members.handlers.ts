import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { EventBus } from "../../events/bus";
import type { EventType } from "../../events/types";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { decodeCursor, encodeCursor, nextLink } from "../../lib/pagination";
import type { KvStore } from "../../ports/kv";
import { auditContext } from "../audit/audit.service";
import { allows, orgMember } from "../tokens/tokens.guards";
import { getProfileRoute, memberStatsRoute, updateProfileRoute } from "./members.routes";
import { type MembersDeps, patchProfile, profileView, resolveMember } from "./members.service";
import { statsCache } from "./stats.cache";
import { loadStats, statsView } from "./stats.service";

/**
 * Writes elsewhere that change what `GET /members/stats` shows, and how much of the cache they void:
 * entries, timers, members and projects (a running timer shows its project's name) everything;
 * presence changes only presence and today's activity.
 */
const INVALIDATING: [EventType, "all" | "activity"][] = [
  ["timer.started", "all"],
  ["timer.stopped", "all"],
  ["time_entry.created", "all"],
  ["time_entry.updated", "all"],
  ["time_entry.deleted", "all"],
  ["member.added", "all"],
  ["member.updated", "all"],
  ["member.removed", "all"],
  ["project.updated", "all"],
  ["project.deleted", "all"],
  ["member.status_changed", "activity"],
];

function deps(c: Context<AppEnv>): MembersDeps {
  const { db, clock, kv } = c.get("platform");
  return { db, clock, kv, events: c.get("services").events };
}

function viewer(c: Context<AppEnv>) {
  const p = orgMember(c);
  return { orgId: p.orgId, userId: p.userId, readAll: allows(p, "data:read_all", "GET") };
}

const StatsCursor = z.object({ n: z.string(), i: z.string().max(64) });

/** Member stats, presence and tracking profiles; keeps the stats cache in step with other modules' writes. */
export function registerMembers(app: Router, bus: { events: EventBus; kv: KvStore }): void {
  for (const [type, scope] of INVALIDATING)
    bus.events.on(type, async (event) => {
      const orgId = event.orgId ?? (event.payload as { orgId?: string }).orgId;
      if (!orgId) return;
      if (scope === "all") await statsCache.invalidate(bus.kv, orgId);
      else await statsCache.invalidateActivity(bus.kv, orgId);
    });

  app.openapi(memberStatsRoute, async (c) => {
    const who = viewer(c);
    const { limit, cursor } = c.req.valid("query");
    const { stats } = await loadStats(deps(c), who.orgId);
    const now = c.get("platform").clock.now().getTime();
    let members = stats.members;
    if (cursor) {
      const k = decodeCursor(cursor, StatsCursor);
      // Sorted by (name, id), as the query orders them (SQLite's BINARY collation = code-unit order).
      members = members.filter((m) => m.name > k.n || (m.name === k.n && m.memberId > k.i));
    }
    const page = members.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor =
      members.length > limit && last ? encodeCursor({ n: last.name, i: last.memberId }) : null;
    const link = nextLink(c.req.url, nextCursor);
    if (link) c.header("Link", link);
    c.header("Cache-Control", "private, no-store");
    return c.json(
      {
        data: page.map((m) => statsView(m, who, now)),
        nextCursor,
        generatedAt: new Date(stats.computedAt).toISOString(),
      },
      200,
    );
  });

  app.openapi(getProfileRoute, async (c) => {
    const row = await resolveMember(c.get("platform").db, viewer(c), c.req.valid("param").id);
    c.header("Cache-Control", "private, no-store");
    return c.json(profileView(row), 200);
  });

  app.openapi(updateProfileRoute, async (c) => {
    const p = orgMember(c);
    const caller = {
      orgId: p.orgId,
      userId: p.userId,
      canSelf: allows(p, "own:write", "PATCH"),
      canOthers: allows(p, "members:write", "PATCH"),
      actor: p.kind === "user" ? p.userId : p.tokenId,
    };
    const out = await patchProfile(deps(c), caller, c.req.valid("param").id, c.req.valid("json"));
    if (out.changes.length)
      await c.get("services").audit.record({
        ...auditContext(c),
        orgId: p.orgId,
        action: "member.profile_updated",
        targetType: "member",
        targetId: out.after.id,
        metadata: Object.fromEntries(
          out.changes.map((k) => [k, { from: out.before[k as "timezone"], to: out.after[k as "timezone"] }]),
        ),
      });
    return c.json(profileView(out.after), 200);
  });
}
