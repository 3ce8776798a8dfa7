/**
 * Heartbeat idempotency key: what storing a heartbeat costs in SQLite with the key of migration 0006
 * (one unique index on `(member_id, time, client_id)`) against the key it replaced (a second unique
 * index on `(member_id, client_id)`), for agents whose ids are random UUIDs and for ids in order.
 *
 * Each run builds a fresh WAL file database per layout and inserts 400 groups of 64 members × 25
 * heartbeats (as ingest's group commits do: one IMMEDIATE transaction per group, 128-row VALUES
 * statements), timing the last 350 groups. The floor is the same table with no index at all.
 * Prints µs per heartbeat (medians over runs) and each layout's ratio to the floor.
 *
 * Usage: bun bench/heartbeat-key.ts [--runs 3] [--groups 400] [--json]
 * A storage-level measurement behind the ingest bench (bench/ingest.ts), which runs the real server
 * over HTTP. Not part of `npm test`: `npm run bench:heartbeat-key`.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import Database from "libsql";
import { tempDir } from "../test/support/process";
import { argNum, hasFlag, medians, report, round } from "./lib";

const RUNS = argNum("runs", 3);
const GROUPS = argNum("groups", 400);
const WARM_GROUPS = 50;
const MEMBERS = 64;
const PER_MEMBER = 25;
const CHUNK = 128;

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

/** µs per heartbeat stored with `layout` and agent ids of kind `ids`. */
function measure(layout: Layout, ids: Ids): number {
  const path = join(tempDir("tt-bench-hbkey-"), "hb.db");
  const db = new Database(path);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    for (const ddl of LAYOUTS[layout].ddl) db.exec(ddl);
    const row = `(${Array(13).fill("?").join(", ")})`;
    const insert = db.prepare(
      `INSERT INTO heartbeats (org_id, member_id, client_id, time, duration_ms, app, title, url, domain, idle,
        keyboard, mouse, received_at) VALUES ${Array(CHUNK).fill(row).join(", ")} ${LAYOUTS[layout].conflict}`,
    );
    const members = Array.from({ length: MEMBERS }, (_, i) => `mem_${String(i).padStart(26, "0")}`);
    const counts = members.map(() => 0);
    const base = Date.UTC(2026, 2, 1);
    let micros = 0;
    let stored = 0;
    for (let g = 0; g < GROUPS; g++) {
      const values: unknown[] = [];
      for (let m = 0; m < MEMBERS; m++)
        for (let j = 0; j < PER_MEMBER; j++) {
          const k = ++counts[m]!;
          const id = ids === "uuid" ? crypto.randomUUID() : `${m}-${String(k).padStart(10, "0")}`;
          values.push(
            "org_bench",
            members[m],
            id,
            base + k * 1000,
            1000,
            "Firefox",
            "Pull requests · teamtrack",
          );
          values.push("https://github.com/teamtrack/teamtrack/pulls", "github.com", 0, k % 17, k % 23, base);
        }
      const start = performance.now();
      db.exec("BEGIN IMMEDIATE");
      for (let i = 0; i < values.length; i += CHUNK * 13) insert.run(values.slice(i, i + CHUNK * 13));
      db.exec("COMMIT");
      if (g >= WARM_GROUPS) {
        micros += (performance.now() - start) * 1000;
        stored += MEMBERS * PER_MEMBER;
      }
    }
    return micros / stored;
  } finally {
    db.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
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
const stored = (GROUPS - WARM_GROUPS) * MEMBERS * PER_MEMBER;
const rows: [string, string][] = [
  [
    "load",
    `${GROUPS} groups of ${MEMBERS} members × ${PER_MEMBER} heartbeats, last ${stored} timed, ${RUNS} runs (medians)`,
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
