import { desc, eq } from "drizzle-orm";
import type { Context } from "hono";
import type { Db } from "../../db/client";
import { auditLog } from "../../db/schema";
import type { AppEnv } from "../../http/context";
import { sha256Hex } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import type { Clock } from "../../ports/clock";
import type { Logger } from "../../ports/platform";

export type AuditActorType = (typeof auditLog.$inferInsert)["actorType"];

export interface AuditEntry {
  /** Null for events outside any organization; they chain under "_system". */
  orgId: string | null;
  actorType: AuditActorType;
  actorId: string | null;
  /** `<area>.<event>`, e.g. `auth.login_failed`, `member.role_changed`. */
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  /** Never secrets: no passwords, tokens, codes or hashes. */
  metadata?: Record<string, unknown>;
}

export const SYSTEM_CHAIN = "_system";
const GENESIS = "0".repeat(64);

type Row = typeof auditLog.$inferSelect;

/** The hash covers every stored field and the previous row's hash, so editing any row breaks the chain. */
export function rowHash(r: Omit<Row, "hash">): Promise<string> {
  const canonical = JSON.stringify([
    r.id,
    r.orgId,
    r.seq,
    r.actorType,
    r.actorId,
    r.action,
    r.targetType,
    r.targetId,
    r.ip,
    r.userAgent,
    r.requestId,
    r.metadata,
    r.createdAt.getTime(),
    r.prevHash,
  ]);
  return sha256Hex(canonical);
}

/**
 * Append-only, hash-chained per organization. `seq` is unique per chain: two concurrent writers
 * that read the same tail collide on the unique index and the loser re-reads and retries, so the
 * chain never forks.
 */
export class AuditService {
  /** Appends to one chain are queued in process, so they never race each other here. */
  readonly #tails = new Map<string, Promise<void>>();

  constructor(private readonly deps: { db: Db; clock: Clock; logger: Logger }) {}

  record(entry: AuditEntry): Promise<void> {
    const orgId = entry.orgId ?? SYSTEM_CHAIN;
    const prev = this.#tails.get(orgId) ?? Promise.resolve();
    const next = prev.then(() => this.#append(orgId, entry));
    const settled = next.catch(() => {});
    this.#tails.set(orgId, settled);
    void settled.then(() => {
      if (this.#tails.get(orgId) === settled) this.#tails.delete(orgId);
    });
    return next;
  }

  /** Other instances can still collide on `seq`; the loser re-reads the tail and tries again. */
  async #append(orgId: string, entry: AuditEntry): Promise<void> {
    const { db, clock } = this.deps;
    for (let attempt = 0; attempt < 20; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      const [tail] = await db
        .select({ seq: auditLog.seq, hash: auditLog.hash })
        .from(auditLog)
        .where(eq(auditLog.orgId, orgId))
        .orderBy(desc(auditLog.seq))
        .limit(1);
      const now = clock.now();
      const row = {
        id: newId("audit", now),
        orgId,
        seq: (tail?.seq ?? 0) + 1,
        actorType: entry.actorType,
        actorId: entry.actorId,
        action: entry.action,
        targetType: entry.targetType ?? null,
        targetId: entry.targetId ?? null,
        ip: entry.ip ?? null,
        userAgent: entry.userAgent?.slice(0, 512) ?? null,
        requestId: entry.requestId ?? null,
        metadata: JSON.stringify(entry.metadata ?? {}),
        createdAt: now,
        prevHash: tail?.hash ?? GENESIS,
      };
      const inserted = await db
        .insert(auditLog)
        .values({ ...row, hash: await rowHash(row) })
        .onConflictDoNothing()
        .returning({ id: auditLog.id });
      if (inserted.length) return;
    }
    this.deps.logger.error({ action: entry.action, orgId }, "audit write lost the race twenty times");
    throw new Error("audit log contention");
  }

  /** Walks a chain and reports the first row whose hash or link does not match. */
  async verify(
    orgId: string,
  ): Promise<{ ok: boolean; checked: number; brokenAt?: { id: string; seq: number; reason: string } }> {
    const rows = await this.deps.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.orgId, orgId))
      .orderBy(auditLog.seq);
    let prev = GENESIS;
    let expectedSeq = 1;
    for (const r of rows) {
      const { hash, ...rest } = r;
      if (r.seq !== expectedSeq)
        return {
          ok: false,
          checked: expectedSeq - 1,
          brokenAt: { id: r.id, seq: r.seq, reason: "sequence gap" },
        };
      if (r.prevHash !== prev)
        return {
          ok: false,
          checked: expectedSeq - 1,
          brokenAt: { id: r.id, seq: r.seq, reason: "link mismatch" },
        };
      if ((await rowHash(rest)) !== hash)
        return {
          ok: false,
          checked: expectedSeq - 1,
          brokenAt: { id: r.id, seq: r.seq, reason: "hash mismatch" },
        };
      prev = hash;
      expectedSeq++;
    }
    return { ok: true, checked: rows.length };
  }
}

/** Actor, IP, user agent and request id of the current request, for an audit entry. */
export function auditContext(
  c: Context<AppEnv>,
): Pick<AuditEntry, "actorType" | "actorId" | "ip" | "userAgent" | "requestId"> {
  const p = c.get("principal");
  const actor: Pick<AuditEntry, "actorType" | "actorId"> = !p
    ? { actorType: "anonymous", actorId: null }
    : p.kind === "user"
      ? { actorType: "user", actorId: p.userId }
      : p.kind === "pat"
        ? { actorType: "token", actorId: p.tokenId }
        : p.kind === "agent"
          ? { actorType: "agent", actorId: p.tokenId }
          : { actorType: "operator", actorId: p.kind };
  return {
    ...actor,
    ip: c.get("clientIp")(),
    userAgent: c.req.header("user-agent") ?? null,
    requestId: c.get("requestId"),
  };
}
