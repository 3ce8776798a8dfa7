import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import type { Presence } from "../../db/schema";
import { isGuardFailure } from "../time/time.db";
import { commitIngest } from "./ingest.writer";
import { buildPieces, type Carry, compareKeys, hourDeltas, type Piece, type SpanHeartbeat } from "./spans";

export { PIECE_MS } from "./spans";

/*
 * Ingest is at most two round trips: a read batch (one snapshot: member, settings, the last span
 * before the batch, the stored heartbeats after it and the pieces to replace), the rebuild in code
 * (spans.ts), and one write batch guarded by what the plan was made from (presence version, status,
 * settings), so a concurrent ingest of the same member makes this one retry rather than interleave.
 * In-order batches usually skip the read (ingest.tail.ts). On the server's connection rows travel as
 * one JSON parameter per statement (json_each: small statements, within D1's 100 bound parameters);
 * on the write thread the bulk inserts bind them as multi-row VALUES (bulk-insert.ts).
 */

/** A heartbeat as stored: after privacy rules, times in ms. */
export interface StoredHeartbeat extends SpanHeartbeat {
  keyboard: number | null;
  mouse: number | null;
}

export interface IngestKey {
  orgId: string;
  /** The agent's member by membership id, or by user (agent tokens carry the user). */
  member: { id: string } | { userId: string };
  /** Key of the earliest heartbeat of the batch: the rebuild starts at the last span before it. */
  first: { time: number; clientId: string };
  /** The batch's heartbeat keys (time and client id): which of them are stored already. */
  keys: { time: number; clientId: string }[];
}

/**
 * A heartbeat's identity (the idempotency key with its member): its client id at its time. A retried
 * batch repeats both; the unique index `heartbeats_member_time_uq` enforces it in the database.
 */
export const heartbeatKey = (time: number, clientId: string) => `${time}\u0000${clientId}`;

/**
 * A test passing each heartbeat key the first time it is asked about, and never one of `known` (the
 * batch's keys already stored): what ingest and bulk loaders keep of a batch.
 */
export function firstSightings(
  known: Set<string>,
  keys?: readonly { time: number; clientId: string }[],
): (time: number, clientId: string) => boolean {
  // The usual batch: nothing of it stored yet, keys strictly increasing (an agent sends its
  // heartbeats in order) — so no key repeats and every heartbeat is a first sighting.
  if (keys && known.size === 0 && strictlyIncreasing(keys)) return () => true;
  const seen = new Set(known);
  return (time, clientId) => {
    const key = heartbeatKey(time, clientId);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
}

type HeartbeatKey = { time: number; clientId: string };

function strictlyIncreasing(keys: readonly HeartbeatKey[]): boolean {
  for (let i = 1; i < keys.length; i++)
    if (compareKeys(keys[i - 1] as HeartbeatKey, keys[i] as HeartbeatKey) >= 0) return false;
  return true;
}

export interface IngestState {
  member: {
    id: string;
    status: Presence;
    version: number | null;
    pulsetimeSeconds: number | null;
    idleThresholdSeconds: number | null;
    privacyRules: string | null;
    /** Of the org_settings row (null: defaults); the write is guarded on it, rules included. */
    settingsUpdatedAt: number | null;
  } | null;
  /** `heartbeatKey`s of the batch's heartbeats already stored. */
  known: Set<string>;
  carry: Carry | null;
  after: SpanHeartbeat[];
  replaced: { startAt: number; endAt: number; idle: boolean }[];
}

const memberOf = (k: IngestKey) =>
  "id" in k.member
    ? sql`${k.member.id}`
    : sql`(SELECT id FROM memberships WHERE org_id = ${k.orgId} AND user_id = ${k.member.userId})`;

/** The member's last span before `first` (its pieces share the key; any one will do). */
function carryWhere(k: IngestKey): SQL {
  return sql`member_id = ${memberOf(k)} AND (last_time, last_client_id) < (${k.first.time}, ${k.first.clientId})`;
}

/** The carry's key, or (-1, '') when there is none (rebuild everything of the member). */
function carryKey(k: IngestKey): { t: SQL; c: SQL } {
  const pick = (col: string, fallback: SQL) =>
    sql`COALESCE((SELECT ${sql.raw(col)} FROM activity_spans WHERE ${carryWhere(k)}
      ORDER BY last_time DESC, last_client_id DESC LIMIT 1), ${fallback})`;
  return { t: pick("last_time", sql`-1`), c: pick("last_client_id", sql`''`) };
}

export function readStateSql(k: IngestKey) {
  const ck = carryKey(k);
  return {
    member: sql`SELECT m.id, m.status, p.version, s.pulsetime_seconds AS pulsetimeSeconds,
        s.idle_threshold_seconds AS idleThresholdSeconds, s.privacy_rules AS privacyRules,
        s.updated_at AS settingsUpdatedAt
      FROM memberships m
      LEFT JOIN org_settings s ON s.org_id = m.org_id
      LEFT JOIN member_presence p ON p.member_id = m.id
      WHERE m.org_id = ${k.orgId} AND m.id = ${memberOf(k)}`,
    known: sql`SELECT time, client_id AS clientId FROM heartbeats
      WHERE member_id = ${memberOf(k)} AND (time, client_id) IN (
        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
        FROM json_each(${JSON.stringify(k.keys.map((h) => [h.time, h.clientId]))}))`,
    carry: sql`SELECT span_start AS spanStart, max_end AS maxEnd, last_time AS lastTime,
        last_client_id AS lastClientId, app, title, url, domain, idle, heartbeats
      FROM activity_spans WHERE ${carryWhere(k)}
      ORDER BY last_time DESC, last_client_id DESC LIMIT 1`,
    after: sql`SELECT client_id AS clientId, time, duration_ms AS durationMs, app, title, url, domain, idle
      FROM heartbeats
      WHERE member_id = ${memberOf(k)} AND (time, client_id) > (${ck.t}, ${ck.c})
      ORDER BY time, client_id`,
    replaced: sql`SELECT start_at AS startAt, end_at AS endAt, idle FROM activity_spans
      WHERE member_id = ${memberOf(k)} AND (last_time, last_client_id) >= (${ck.t}, ${ck.c})`,
  };
}

/** One read batch: what the rebuild needs, from one snapshot. */
export async function readIngestState(db: Db, k: IngestKey): Promise<IngestState> {
  const q = readStateSql(k);
  const [member, known, carry, after, replaced] = (await db.batch([
    db.all(q.member),
    db.all(q.known),
    db.all(q.carry),
    db.all(q.after),
    db.all(q.replaced),
  ])) as [
    IngestState["member"][],
    { time: number; clientId: string }[],
    (Omit<Carry, "idle"> & { idle: number })[],
    (Omit<SpanHeartbeat, "idle"> & { idle: number })[],
    { startAt: number; endAt: number; idle: number }[],
  ];
  const c = carry[0];
  return {
    member: member[0] ?? null,
    known: new Set(known.map((r) => heartbeatKey(r.time, r.clientId))),
    carry: c ? { ...c, idle: !!c.idle } : null,
    after: after.map((h) => ({ ...h, idle: !!h.idle })),
    replaced: replaced.map((p) => ({ ...p, idle: !!p.idle })),
  };
}

export interface IngestWrite {
  orgId: string;
  memberId: string;
  now: number;
  idleThresholdMs: number;
  /**
   * What the plan was made from; the write aborts (guard failure) if any of it moved: the member's
   * presence version and status, and the organization's settings (privacy rules, pulsetime).
   */
  expect: { version: number | null; status: Presence; settingsUpdatedAt: number | null };
  /** New heartbeats only. */
  heartbeats: StoredHeartbeat[];
  /** Replace the pieces from this key on (null: none to replace) with `pieces`. */
  rebuildFrom: { time: number; clientId: string } | "all" | null;
  pieces: Piece[];
  deltas: [hour: number, activeMs: number, idleMs: number][];
  presence: {
    /** The agent (token id) that sent the batch; "" for bulk loaders. */
    agentId: string;
    lastActivityAt: number;
    lastInputAt: number | null;
    latestTime: number;
    latestIdle: boolean;
  };
}

/**
 * What presence reads of a heartbeat: its timing and input, no content. Presence follows every new
 * heartbeat an agent sends, those a privacy rule drops included: they hold nothing once dropped, but
 * the member was there (else typing only in a dropped app looked like an agent gone silent — offline,
 * and a running timer stopped as stale).
 */
export type PresenceSample = Pick<
  StoredHeartbeat,
  "time" | "clientId" | "durationMs" | "idle" | "keyboard" | "mouse"
>;

/** Whether a heartbeat shows input: not idle, and some keyboard or mouse events when it counts them. */
export function showsInput(h: PresenceSample): boolean {
  if (h.idle) return false;
  if (h.keyboard == null && h.mouse == null) return true;
  return (h.keyboard ?? 0) + (h.mouse ?? 0) > 0;
}

/** Presence facts of new heartbeats (times capped at the server's clock). */
function presenceOf(rows: readonly PresenceSample[], now: number, agentId: string): IngestWrite["presence"] {
  let lastActivityAt = 0;
  let lastInputAt: number | null = null;
  let latest = rows[0] as PresenceSample;
  for (const h of rows) {
    const end = Math.min(h.time + h.durationMs, now);
    lastActivityAt = Math.max(lastActivityAt, end);
    if (showsInput(h)) lastInputAt = Math.max(lastInputAt ?? 0, end);
    if (compareKeys(h, latest) > 0) latest = h;
  }
  return {
    agentId,
    lastActivityAt,
    lastInputAt,
    latestTime: Math.min(latest.time, now),
    latestIdle: latest.idle,
  };
}

/**
 * The write for new heartbeats `rows` (not stored yet, distinct) on top of the state read: the
 * stored heartbeats after the carry plus the new ones, merged in key order, replace the pieces from
 * the carry on; the hourly rollup moves by the difference.
 */
export function planIngest(
  state: IngestState,
  rows: StoredHeartbeat[],
  a: {
    orgId: string;
    memberId: string;
    now: number;
    pulsetimeMs: number;
    idleThresholdMs: number;
    status: Presence;
    /** The agent (token id) sending, "" for bulk loaders: presence is kept per agent. */
    agentId: string;
  },
  /** New heartbeats not stored (dropped by privacy rules): they count for presence only. */
  alsoSeen: readonly PresenceSample[] = [],
): IngestWrite {
  const base = {
    orgId: a.orgId,
    memberId: a.memberId,
    now: a.now,
    idleThresholdMs: a.idleThresholdMs,
    expect: {
      version: state.member?.version ?? null,
      status: a.status,
      settingsUpdatedAt: state.member?.settingsUpdatedAt ?? null,
    },
  };
  // Every heartbeat dropped: presence alone — nothing stored, no span rebuilt, the same guards.
  if (rows.length === 0)
    return {
      ...base,
      heartbeats: [],
      rebuildFrom: null,
      pieces: [],
      deltas: [],
      presence: presenceOf(alsoSeen, a.now, a.agentId),
    };
  const stream = [...state.after, ...rows].sort(compareKeys);
  const pieces = buildPieces(state.carry, stream, a.pulsetimeMs);
  return {
    ...base,
    heartbeats: rows,
    rebuildFrom: state.carry ? { time: state.carry.lastTime, clientId: state.carry.lastClientId } : "all",
    pieces,
    deltas: hourDeltas(state.replaced, pieces),
    presence: presenceOf(alsoSeen.length ? [...rows, ...alsoSeen] : rows, a.now, a.agentId),
  };
}

/** Key order of heartbeats, and the earliest key of a batch. */
export function firstKey(rows: { time: number; clientId: string }[]): { time: number; clientId: string } {
  let min = rows[0] as { time: number; clientId: string };
  for (const r of rows) if (compareKeys(r, min) < 0) min = r;
  return { time: min.time, clientId: min.clientId };
}

/** Attempts when concurrent ingests of the same member keep moving its state. */
export const INGEST_ATTEMPTS = 5;

/**
 * Stores already-prepared heartbeats of one member (privacy rules applied, times in ms) with the
 * same span rebuild, rollup and presence as the ingest route, retrying on concurrent changes. For
 * bulk loaders (`teamtrack seed`) and tests; the route adds validation, privacy rules and events.
 */
export async function writeIngest(
  db: Db,
  w: {
    orgId: string;
    memberId: string;
    now: number;
    pulsetimeMs: number;
    idleThresholdMs: number;
    heartbeats: StoredHeartbeat[];
  },
): Promise<{ inserted: number; status: Presence | null }> {
  if (w.heartbeats.length === 0) return { inserted: 0, status: null };
  const key: IngestKey = {
    orgId: w.orgId,
    member: { id: w.memberId },
    first: firstKey(w.heartbeats),
    keys: w.heartbeats,
  };
  for (let attempt = 0; attempt < INGEST_ATTEMPTS; attempt++) {
    const state = await readIngestState(db, key);
    if (!state.member) throw new Error(`no member ${w.memberId} in ${w.orgId}`);
    const isNew = firstSightings(state.known);
    const rows = w.heartbeats.filter((h) => isNew(h.time, h.clientId));
    if (rows.length === 0) return { inserted: 0, status: state.member.status };
    const plan = planIngest(state, rows, { ...w, status: state.member.status, agentId: "" });
    try {
      return { inserted: rows.length, status: await commitIngest(db, plan) };
    } catch (err) {
      if (!isGuardFailure(err)) throw err;
    }
  }
  throw new Error("concurrent ingests kept conflicting");
}

/** The agent's member and what ingest needs of the organization's settings. */
export async function findIngestContext(db: Db, orgId: string, userId: string) {
  const [row] = await db.all<NonNullable<IngestState["member"]>>(
    readStateSql({ orgId, member: { userId }, first: { time: 0, clientId: "" }, keys: [] }).member,
  );
  return row ?? null;
}
