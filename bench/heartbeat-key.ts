/**
 * Heartbeat idempotency key: what storing a heartbeat costs in SQLite with the key of migration 0006
 * (one unique index on `(member_id, time, client_id)`) against the key it replaced (a second unique
 * index on `(member_id, client_id)`), for agents whose ids are random UUIDs and for ids in order.
 *
 * Each run builds a fresh WAL file database per layout and inserts 400 groups of 64 members × 25
 * heartbeats as ingest's group commits do on the write thread: one IMMEDIATE transaction per group,
 * the rows cut into multi-row VALUES statements by ingest's own `valuesInsert` (128/32/8/1 rows),
 * prepared statements cached as on the thread; timing the last 350 groups. The floor is the same table with no index at all.
 * Prints µs per heartbeat (medians over runs) and each layout's ratio to the floor.
 *
 * Usage: bun bench/heartbeat-key.ts [--runs 3] [--groups 400] [--json]
 * A storage-level measurement behind the ingest bench (bench/ingest.ts), which runs the real server
 * over HTTP. Not part of `npm test`: `npm run bench:heartbeat-key`.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import Database from "libsql";
import { installStatementCache } from "../src/adapters/db/statement-cache";
import { type BulkInsert, valuesInsert } from "../src/modules/activity/bulk-insert";
import { HEARTBEAT_COLUMNS } from "../src/modules/activity/ingest.writer";
import { tempDir } from "../test/support/process";
import { argNum, hasFlag, medians, report, round } from "./lib";

const RUNS = argNum("runs", 3);
const GROUPS = argNum("groups", 400);
const WARM_GROUPS = 50;
const MEMBERS = 64;
const PER_MEMBER = 25;
const STORED = (GROUPS - WARM_GROUPS) * MEMBERS * PER_MEMBER;

const TABLE = `CREATE TABLE heartbeats (id integer PRIMARY KEY, org_id text NOT NULL, member_id text NOT NULL,
  client_id text NOT NULL, time integer NOT NULL, duration_ms integer NOT NULL, app text NOT NULL, title text,
  url text, domain text, idle integer NOT NULL, keyboard integer, mouse integer, received_at integer NOT NULL)`;
const LAYOUTS = {
  floor: { ddl: [TABLE], conflict: "" },
  current: {
    ddl: [TABLE, "CREATE UNIQUE INDEX k ON heartbeats (member_id, time, client_id)"],
    conflict: "ON CONFLICT (member_id, time, client_id) DO NOTHING",
  },
  previous: {
    ddl: [
      TABLE,
      "CREATE UNIQUE INDEX uq ON heartbeats (member_id, client_id)",
      "CREATE INDEX t ON heartbeats (member_id, time, client_id)",
    ],
    conflict: "ON CONFLICT (member_id, client_id) DO NOTHING",
  },
} as const;
type Layout = keyof typeof LAYOUTS;
type Ids = "uuid" | "ordered";
installStatementCache();

/** µs per heartbeat stored with `layout` and agent ids of kind `ids`. */
function measure(layout: Layout, ids: Ids): number {
  const dir = tempDir("tt-bench-hbkey-");
  const db = new Database(join(dir, "hb.db"));
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    for (const ddl of LAYOUTS[layout].ddl) db.exec(ddl);
    const spec: BulkInsert = {
      table: "heartbeats",
      columns: HEARTBEAT_COLUMNS,
      onConflict: LAYOUTS[layout].conflict,
    };
    const members = Array.from({ length: MEMBERS }, (_, i) => `mem_${String(i).padStart(26, "0")}`);
    const counts = members.map(() => 0);
    const base = Date.UTC(2026, 2, 1);
    let micros = 0;
    for (let g = 0; g < GROUPS; g++) {
      const rows: unknown[][] = [];
      for (let m = 0; m < MEMBERS; m++)
        for (let j = 0; j < PER_MEMBER; j++) {
          const k = ++counts[m]!;
          const id = ids === "uuid" ? crypto.randomUUID() : `${m}-${String(k).padStart(10, "0")}`;
          rows.push([
            "org_bench",
            members[m],
            id,
            base + k * 1000,
            1000,
            "Firefox",
            "Pull requests · teamtrack",
            "https://github.com/teamtrack/teamtrack/pulls",
            "github.com",
            0,
            k % 17,
            k % 23,
            base,
          ]);
        }
      // No `allNew` guard, so valuesInsert never compiles one and needs no drizzle handle.
      const queries = valuesInsert(null as never, spec, rows);
      const start = performance.now();
      db.exec("BEGIN IMMEDIATE");
      for (const q of queries) db.prepare(q.sql).run(q.params);
      db.exec("COMMIT");
      if (g >= WARM_GROUPS) micros += (performance.now() - start) * 1000;
    }
    return micros / STORED;
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs: Record<string, number>[] = [];
for (let r = 0; r < RUNS; r++) {
  const out: Record<string, number> = {};
  for (const ids of ["uuid", "ordered"] as const)
    for (const layout of Object.keys(LAYOUTS) as Layout[]) out[`${ids}.${layout}`] = measure(layout, ids);
  runs.push(out);
  if (!hasFlag("json"))
    console.log(
      `run ${r + 1}: ${Object.entries(out)
        .map(([k, v]) => `${k} ${round(v, 2)} µs`)
        .join(", ")}`,
    );
}
const med = medians(runs);
const rows: [string, string][] = [
  [
    "load",
    `${GROUPS} groups of ${MEMBERS} members × ${PER_MEMBER} heartbeats, last ${STORED} timed, ${RUNS} runs (medians)`,
  ],
];
for (const ids of ["uuid", "ordered"] as const) {
  const floor = med[`${ids}.floor`] as number;
  rows.push([`${ids} ids: no index (floor)`, `${round(floor, 2)} µs/heartbeat`]);
  for (const layout of ["current", "previous"] as const) {
    const v = med[`${ids}.${layout}`] as number;
    rows.push([
      `${ids} ids: ${layout} key`,
      `${round(v, 2)} µs/heartbeat (${round(v / floor, 2)}× the floor)`,
    ]);
  }
}
report({ runs: RUNS, groups: GROUPS, medians: med, results: runs }, rows);
