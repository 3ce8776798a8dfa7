import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { GroupCommit } from "../../db/group-commit";
import type { Presence } from "../../db/schema";
import { compiled, type WriteQuery, writeThreadOf } from "../../db/write-thread";
import { abortIf, type Item, runBatch } from "../time/time.db";
import { type BulkInsert, jsonEachInsert, valuesInsert } from "./bulk-insert";
import type { IngestWrite } from "./ingest.repo";
import { OFFLINE_AFTER_MS } from "./presence.repo";

/**
 * One group committer per database handle: concurrent ingests of different members are written in
 * one set-based batch (`groupWriteSql` below); two ingests of the same member never share
 * a group. A group holds at most 256 members and about 5,000 rows (heartbeats and span pieces).
 */
const writers = new WeakMap<Db, GroupCommit<IngestWrite, Presence | null>>();

export function ingestWriter(db: Db): GroupCommit<IngestWrite, Presence | null> {
  let w = writers.get(db);
  if (!w) {
    w = new GroupCommit<IngestWrite, Presence | null>({
      run: (plans) => commitGroup(db, plans),
      key: (plan) => plan.memberId,
      weight: (plan) => plan.heartbeats.length + plan.pieces.length,
      maxWrites: 256,
      maxWeight: 5_000,
      // The write thread runs the batches it is sent in order: while it commits one group, the
      // next is already queued there (bench/ingest.ts server runs, batches of 50, 8 alternated runs
      // each: 96.0k against 88.2k heartbeats/s, p99 58.5 against 63.1 ms, medians, with one group
      // at a time). Other connections commit one group at a time.
      maxInFlight: writeThreadOf(db) ? 2 : 1,
    });
    writers.set(db, w);
  }
  return w;
}

const json = (v: unknown) => JSON.stringify(v);
const col = (i: number) => sql.raw(`json_extract(value, '$[${i}]')`);
const jcol = (i: number) => sql.raw(`json_extract(j.value, '$[${i}]')`);
/** Below any stored key: "replace every piece of the member" as a key range. */
const ALL_KEY = { time: Number.MIN_SAFE_INTEGER, clientId: "" };

/** The heartbeat columns ingest writes, in the order its rows bind them (bench/heartbeat-key.ts uses them too). */
export const HEARTBEAT_COLUMNS = [
  "org_id",
  "member_id",
  "client_id",
  "time",
  "duration_ms",
  "app",
  "title",
  "url",
  "domain",
  "idle",
  "keyboard",
  "mouse",
  "received_at",
];

const HEARTBEAT_ROWS: BulkInsert = {
  table: "heartbeats",
  columns: HEARTBEAT_COLUMNS,
  onConflict: "ON CONFLICT (member_id, time, client_id) DO NOTHING",
  // Every heartbeat of every plan is new: a retried batch on the fast path (or one stored by
  // another writer meanwhile) aborts the batch instead of being counted as accepted.
  allNew: true,
};
const PIECE_ROWS: BulkInsert = {
  table: "activity_spans",
  columns: [
    "org_id",
    "member_id",
    "start_at",
    "end_at",
    "span_start",
    "max_end",
    "last_time",
    "last_client_id",
    "app",
    "title",
    "url",
    "domain",
    "idle",
    "heartbeats",
  ],
};

/**
 * Where a write batch runs: drizzle items for the server's connection (rows as JSON parameters),
 * compiled queries for the write thread (rows as bound VALUES). See bulk-insert.ts.
 */
interface Target<Q> {
  item(item: Item): Q;
  rows(spec: BulkInsert, rows: unknown[][]): Q[];
}

const onServer = (db: Db): Target<Item> => ({
  item: (i) => i,
  rows: (spec, rows) => jsonEachInsert(db, spec, rows),
});
const onThread = (db: Db): Target<WriteQuery> => ({
  item: compiled,
  rows: (spec, rows) => valuesInsert(db, spec, rows),
});

/**
 * The presence row's `agents` after an upsert (`excluded.agents`: the sending agent's one entry):
 * that agent's entry replaced — keeping its newest heartbeat when this batch's is older (a late
 * batch) — and agents not heard from within OFFLINE_AFTER_MS dropped.
 */
const mergeAgents = sql.raw(`(SELECT json_group_object(e.key, json(e.value)) FROM json_each(json_patch(
    member_presence.agents,
    (SELECT json_group_object(n.key, CASE WHEN json_extract(o.value, '$[0]') > json_extract(n.value, '$[0]')
        THEN json_array(json_extract(o.value, '$[0]'), json_extract(o.value, '$[1]'), json_extract(n.value, '$[2]'))
        ELSE json(n.value) END)
      FROM json_each(excluded.agents) n LEFT JOIN json_each(member_presence.agents) o ON o.key = n.key)
  )) e WHERE json_extract(e.value, '$[2]') > excluded.updated_at - ${OFFLINE_AFTER_MS})`);

/** No agent of the member (presence row `p`) heard from lately says "not idle". */
const noAgentActive = sql.raw(
  "NOT EXISTS (SELECT 1 FROM json_each(p.agents) a WHERE json_extract(a.value, '$[1]') = 0)",
);
/**
 * The write batch of one or more plans (distinct members), set-based: a fixed set of statements
 * whatever the number of members (the bulk inserts aside, which the write thread cuts into chunks of
 * fixed sizes, bulk-insert.ts), each taking many members' rows at once. Concurrent ingests are
 * committed together this way (ingest.writer.ts), so a single heartbeat does not pay a statement
 * per table and a commit of its own. The guards cover every plan at once; when one fails the caller
 * retries the plans one by one, which says which of them moved.
 */
function groupWriteSql<Q>(db: Db, ws: IngestWrite[], to: Target<Q>): Q[] {
  const expects = ws.map((w) => [
    w.memberId,
    w.expect.version,
    w.expect.status,
    w.orgId,
    w.expect.settingsUpdatedAt,
  ]);
  const out: Q[] = [];
  const add = (...items: Item[]) => {
    for (const i of items) out.push(to.item(i));
  };
  add(
    abortIf(
      db,
      sql`EXISTS (SELECT 1 FROM json_each(${json(expects)}) j WHERE
        (SELECT version FROM member_presence WHERE member_id = ${jcol(0)}) IS NOT ${jcol(1)}
        OR (SELECT status FROM memberships WHERE id = ${jcol(0)}) IS NOT ${jcol(2)}
        OR (SELECT updated_at FROM org_settings WHERE org_id = ${jcol(3)}) IS NOT ${jcol(4)})`,
    ),
  );
  const heartbeats: unknown[][] = [];
  const rebuilds: unknown[][] = [];
  const pieces: unknown[][] = [];
  const deltas: unknown[][] = [];
  const presence: unknown[][] = [];
  const statuses: unknown[][] = [];
  for (const w of ws) {
    for (const h of w.heartbeats)
      heartbeats.push([
        w.orgId,
        w.memberId,
        h.clientId,
        h.time,
        h.durationMs,
        h.app,
        h.title,
        h.url,
        h.domain,
        h.idle ? 1 : 0,
        h.keyboard,
        h.mouse,
        w.now,
      ]);
    if (w.rebuildFrom) {
      const from = w.rebuildFrom === "all" ? ALL_KEY : w.rebuildFrom;
      rebuilds.push([w.memberId, from.time, from.clientId]);
    }
    for (const p of w.pieces)
      pieces.push([
        w.orgId,
        w.memberId,
        p.startAt,
        p.endAt,
        p.spanStart,
        p.maxEnd,
        p.lastTime,
        p.lastClientId,
        p.app,
        p.title,
        p.url,
        p.domain,
        p.idle ? 1 : 0,
        p.heartbeats,
      ]);
    for (const [hour, activeMs, idleMs] of w.deltas)
      deltas.push([w.memberId, hour, w.orgId, activeMs, idleMs]);
    const p = w.presence;
    presence.push([
      w.memberId,
      w.orgId,
      p.lastActivityAt,
      p.lastInputAt,
      p.latestTime,
      p.latestIdle ? 1 : 0,
      w.now,
      p.agentId,
    ]);
    statuses.push([w.memberId, w.orgId, w.now, w.idleThresholdMs]);
  }
  out.push(...to.rows(HEARTBEAT_ROWS, heartbeats));
  if (rebuilds.length)
    add(
      db.run(sql`DELETE FROM activity_spans WHERE id IN (
        SELECT s.id FROM json_each(${json(rebuilds)}) j
        JOIN activity_spans s ON s.member_id = ${jcol(0)}
          AND (s.last_time, s.last_client_id) >= (${jcol(1)}, ${jcol(2)}))`),
    );
  out.push(...to.rows(PIECE_ROWS, pieces));
  if (deltas.length)
    add(
      db.run(sql`INSERT INTO activity_hours (member_id, hour, org_id, active_ms, idle_ms)
        SELECT ${col(0)}, ${col(1)}, ${col(2)}, ${col(3)}, ${col(4)} FROM json_each(${json(deltas)}) WHERE true
        ON CONFLICT (member_id, hour) DO UPDATE SET
          active_ms = active_ms + excluded.active_ms, idle_ms = idle_ms + excluded.idle_ms`),
    );
  add(
    db.run(sql`INSERT INTO member_presence (member_id, org_id, last_activity_at, last_input_at, version,
        online, updated_at, agents)
      SELECT ${col(0)}, ${col(1)}, ${col(2)}, ${col(3)}, 1, 1, ${col(6)},
        json_object(${col(7)}, json_array(${col(4)}, ${col(5)}, ${col(6)}))
      FROM json_each(${json(presence)}) WHERE true
      ON CONFLICT (member_id) DO UPDATE SET
        last_activity_at = MAX(last_activity_at, excluded.last_activity_at),
        last_input_at = CASE WHEN excluded.last_input_at IS NULL THEN last_input_at
          WHEN last_input_at IS NULL THEN excluded.last_input_at
          ELSE MAX(last_input_at, excluded.last_input_at) END,
        agents = ${mergeAgents},
        version = version + 1,
        online = 1,
        updated_at = excluded.updated_at`),
    // Last seen is receipt time; status follows the presence row just written.
    db.all(sql`UPDATE memberships SET
        last_seen_at = s.now,
        status = s.next,
        status_changed_at = CASE WHEN memberships.status <> s.next THEN s.now ELSE status_changed_at END
      FROM (
        SELECT ${jcol(0)} AS member_id, ${jcol(1)} AS org_id, ${jcol(2)} AS now,
          CASE WHEN ${noAgentActive} OR p.last_input_at IS NULL
            OR ${jcol(2)} - p.last_input_at >= ${jcol(3)} THEN 'idle' ELSE 'active' END AS next
        FROM json_each(${json(statuses)}) j JOIN member_presence p ON p.member_id = ${jcol(0)}
      ) AS s
      WHERE memberships.id = s.member_id AND memberships.org_id = s.org_id
      RETURNING memberships.id AS id, memberships.status AS status`),
  );
  return out;
}

/**
 * Commits the plans (distinct members) in one batch; returns each member's status after it (null
 * when its membership is gone). Throws a guard failure when any plan's state moved.
 */
async function commitGroup(db: Db, ws: IngestWrite[]): Promise<(Presence | null)[]> {
  // On Bun with a file database, SQLite commits the group on the write thread (write-thread.ts).
  const thread = writeThreadOf(db);
  const out = thread
    ? await thread.batch(groupWriteSql(db, ws, onThread(db)))
    : await runBatch(db, groupWriteSql(db, ws, onServer(db)));
  const rows = out[out.length - 1] as { id: string; status: Presence }[];
  const status = new Map(rows.map((r) => [r.id, r.status]));
  return ws.map((w) => status.get(w.memberId) ?? null);
}

/** The write batch of one plan; returns the member's status after it. Throws a guard failure when the state moved. */
export async function commitIngest(db: Db, w: IngestWrite): Promise<Presence | null> {
  const [status] = await commitGroup(db, [w]);
  return status ?? null;
}
