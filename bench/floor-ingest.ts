/**
 * Floor for bench/ingest.ts: a bare `Bun.serve` that stores the same heartbeat rows the server
 * stores, with raw `@libsql/client` on a file database opened with the server's settings
 * (src/adapters/db/libsql.ts: busy_timeout 5000, WAL, synchronous NORMAL, foreign keys on) and the
 * same schema (the migrations under drizzle/, applied at start-up).
 *
 * Per request it does the least a correct ingest must: map the bearer token to a member (in memory),
 * parse the JSON body, and insert every heartbeat in one multi-row INSERT … ON CONFLICT DO NOTHING
 * (so retries stay idempotent, as in the server). No validation, spans, rollup or presence: that is
 * the point of a floor. Tokens are "floor-agent-<i>" for i in [0, AGENTS).
 *
 * Env: PORT, DB_PATH (file path), AGENTS (default 64). Prints "listening" when ready.
 */
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import type { Db } from "../src/db/client";
import { migrate } from "../src/db/migrate";
import { migrations } from "../src/db/migrations.generated";

const PORT = Number(process.env.PORT);
const DB_PATH = process.env.DB_PATH ?? "floor.db";
const AGENTS = Number(process.env.AGENTS ?? 64);

const client = createClient({ url: `file:${DB_PATH}` });
await client.execute("PRAGMA busy_timeout = 5000");
await client.execute("PRAGMA journal_mode = WAL");
await client.execute("PRAGMA synchronous = NORMAL");
await client.execute("PRAGMA foreign_keys = ON");
await migrate(drizzle(client) as unknown as Db, migrations);

const ORG = "org_floor";
const now = Date.now();
const members = new Map<string, string>();
const setup = [
  {
    sql: "INSERT OR IGNORE INTO organizations (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
    args: [ORG, "Floor", now, now],
  },
];
for (let i = 0; i < AGENTS; i++) {
  const user = `usr_floor_${i}`;
  const member = `mem_floor_${i}`;
  members.set(`Bearer floor-agent-${i}`, member);
  setup.push(
    {
      sql: `INSERT OR IGNORE INTO users (id, email, name, password_hash, created_at, updated_at) VALUES (?, ?, ?, 'x', ?, ?)`,
      args: [user, `floor${i}@example.com`, `Floor ${i}`, now, now],
    },
    {
      sql: `INSERT OR IGNORE INTO memberships (id, org_id, user_id, role, created_at, updated_at) VALUES (?, ?, ?, 'member', ?, ?)`,
      args: [member, ORG, user, now, now],
    },
  );
}
await client.batch(setup, "write");

interface Hb {
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

const COLS = 13;
const placeholders = (n: number) =>
  Array.from({ length: n }, () => `(${Array(COLS).fill("?").join(",")})`).join(",");
const sqlFor = new Map<number, string>();

function domainOf(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).hostname.replace(/^www\./, "") || null;
  } catch {
    return null;
  }
}

const server = Bun.serve({
  port: PORT,
  hostname: "127.0.0.1",
  async fetch(req) {
    const member = members.get(req.headers.get("authorization") ?? "");
    if (!member) return new Response("unauthorized", { status: 401 });
    const { heartbeats } = (await req.json()) as { heartbeats: Hb[] };
    const received = Date.now();
    const args: (string | number | null)[] = [];
    for (const h of heartbeats)
      args.push(
        ORG,
        member,
        h.id,
        Date.parse(h.time),
        Math.round(h.duration * 1000),
        h.app,
        h.title ?? null,
        h.url ?? null,
        domainOf(h.url),
        h.idle ? 1 : 0,
        h.keyboard ?? null,
        h.mouse ?? null,
        received,
      );
    let sql = sqlFor.get(heartbeats.length);
    if (!sql) {
      sql = `INSERT INTO heartbeats (org_id, member_id, client_id, time, duration_ms, app, title, url, domain, idle,
        keyboard, mouse, received_at) VALUES ${placeholders(heartbeats.length)}
        ON CONFLICT (member_id, time, client_id) DO NOTHING`;
      sqlFor.set(heartbeats.length, sql);
    }
    const r = await client.execute({ sql, args });
    return Response.json({ accepted: r.rowsAffected });
  },
});
console.log(`listening on ${server.port}`);
process.on("SIGTERM", () => {
  server.stop(true);
  client.close();
  process.exit(0);
});
