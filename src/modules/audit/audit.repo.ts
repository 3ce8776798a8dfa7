import { and, desc, eq, gte, lt, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { auditLog } from "../../db/schema";

export type AuditRow = typeof auditLog.$inferSelect;

export interface AuditFilter {
  /** Exact action, or a prefix when it ends in `.*` (`auth.*`). */
  action?: string;
  actorId?: string;
  targetId?: string;
  /** Inclusive lower bound on `createdAt`. */
  from?: Date;
  /** Exclusive upper bound on `createdAt`. */
  to?: Date;
  /** Rows strictly older (lower `seq`) than this one: the keyset cursor. */
  beforeSeq?: number;
}

function actionMatch(action: string) {
  if (action.endsWith(".*")) {
    const prefix = action.slice(0, -1); // keep the dot: "auth." matches "auth.login", not "authz.x"
    // substr equality rather than LIKE, so `_` and `%` in the filter are not wildcards.
    return sql`substr(${auditLog.action}, 1, ${prefix.length}) = ${prefix}`;
  }
  return eq(auditLog.action, action);
}

/** One organization's audit rows, newest first by `seq`; fetches `limit + 1` to detect a next page. */
export async function listAuditRows(
  db: Db,
  orgId: string,
  f: AuditFilter,
  limit: number,
): Promise<AuditRow[]> {
  return db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.orgId, orgId),
        f.action ? actionMatch(f.action) : undefined,
        f.actorId ? eq(auditLog.actorId, f.actorId) : undefined,
        f.targetId ? eq(auditLog.targetId, f.targetId) : undefined,
        f.from ? gte(auditLog.createdAt, f.from) : undefined,
        f.to ? lt(auditLog.createdAt, f.to) : undefined,
        f.beforeSeq !== undefined ? lt(auditLog.seq, f.beforeSeq) : undefined,
      ),
    )
    .orderBy(desc(auditLog.seq))
    .limit(limit + 1);
}
