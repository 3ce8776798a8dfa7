import type { Presence } from "../../db/schema";
import type { IngestState, IngestWrite } from "./ingest.repo";
import { type Carry, compareKeys } from "./spans";

/**
 * What this process knows about a member right after its own last ingest of that member: the
 * member's last span (with its pieces), presence version and status, and the settings it used.
 *
 * An agent sends its heartbeats in order, so the next batch usually starts after that span. Then
 * the read round trip can be skipped: the plan is made from the tail and the write is guarded as
 * always (presence version, status, settings' `updated_at`, and "every heartbeat was new"). If
 * anything moved (another instance or device wrote, settings changed, a retried batch), the guard
 * aborts the write and ingest takes the regular read-then-write path.
 */
export interface Tail {
  member: NonNullable<IngestState["member"]>;
  carry: Carry;
  carryPieces: { startAt: number; endAt: number; idle: boolean }[];
}

const tails = new Map<string, Tail>();
const MAX_TAILS = 20_000;
/** The key of an agent's member in this process (org and user). */
export const keyOf = (orgId: string, userId: string) => `${orgId}\u0000${userId}`;

export const ingestTails = {
  /** The tail, when every heartbeat of the batch comes after its last span. */
  get(orgId: string, userId: string, first: { time: number; clientId: string }): Tail | null {
    const t = tails.get(keyOf(orgId, userId));
    if (!t) return null;
    return compareKeys(first, { time: t.carry.lastTime, clientId: t.carry.lastClientId }) > 0 ? t : null;
  },

  /** After a committed write: remember its last span, the new version and status. */
  remember(
    orgId: string,
    userId: string,
    member: Tail["member"],
    write: IngestWrite,
    status: Presence,
  ): void {
    const last = write.pieces[write.pieces.length - 1];
    if (!last) return;
    const carryPieces = write.pieces
      .filter(
        (p) =>
          p.spanStart === last.spanStart &&
          p.lastTime === last.lastTime &&
          p.lastClientId === last.lastClientId,
      )
      .map((p) => ({ startAt: p.startAt, endAt: p.endAt, idle: p.idle }));
    const { startAt: _s, endAt: _e, ...carry } = last;
    if (tails.size >= MAX_TAILS) tails.delete(tails.keys().next().value as string);
    const key = keyOf(orgId, userId);
    tails.delete(key); // re-insert: Map order is the eviction order
    tails.set(key, {
      member: { ...member, status, version: (write.expect.version ?? 0) + 1 },
      carry,
      carryPieces,
    });
  },

  forget(orgId: string, userId: string): void {
    tails.delete(keyOf(orgId, userId));
  },
};
