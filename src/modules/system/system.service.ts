import { sql } from "drizzle-orm";
import { pendingMigrations } from "../../db/migrate";
import { migrations } from "../../db/migrations.generated";
import type { Services } from "../../http/context";
import type { Platform } from "../../ports/platform";

export interface CheckResult {
  status: "pass" | "fail";
  latencyMs: number;
  error?: string;
}

const CHECK_TIMEOUT_MS = 2000;

async function timed(fn: () => Promise<void>): Promise<CheckResult> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { status: "pass", latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return {
      status: "fail",
      latencyMs: Math.round(performance.now() - started),
      error: String((err as Error).message ?? err).slice(0, 200),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Readiness: the database answers, its schema is current, and every platform dependency answers. */
export async function readiness(
  platform: Platform,
): Promise<{ ok: boolean; checks: Record<string, CheckResult> }> {
  const entries: [string, () => Promise<void>][] = [
    ["database", async () => void (await platform.db.run(sql`select 1`))],
    [
      "migrations",
      async () => {
        const pending = await pendingMigrations(platform.db, migrations);
        if (pending.length)
          throw new Error(`${pending.length} pending: ${pending.map((m) => m.tag).join(", ")}`);
      },
    ],
    ...platform.healthChecks.map((h) => [h.name, () => h.check()] as [string, () => Promise<void>]),
  ];
  const results = await Promise.all(entries.map(async ([name, fn]) => [name, await timed(fn)] as const));
  const checks = Object.fromEntries(results);
  return { ok: results.every(([, r]) => r.status === "pass"), checks };
}

export async function detailedHealth(platform: Platform, services: Services) {
  const [ready, disk, lastRuns, outboxPending] = await Promise.all([
    readiness(platform),
    platform.system.diskFree().catch(() => null),
    services.jobs.lastRuns(),
    services.events.pendingCount(),
  ]);
  return {
    status: ready.ok ? ("pass" as const) : ("fail" as const),
    version: platform.config.version,
    runtime: platform.runtime,
    instanceId: platform.instanceId,
    uptimeSeconds: Math.round(platform.system.uptimeSeconds()),
    database: { dialect: platform.dbDialect, latencyMs: ready.checks.database?.latencyMs ?? null },
    checks: ready.checks,
    disk,
    memory: platform.system.memory(),
    queues: { outboxPending },
    jobs: Object.fromEntries(
      Object.entries(lastRuns).map(([id, r]) => [
        id,
        r
          ? {
              status: r.status,
              startedAt: r.startedAt.toISOString(),
              durationMs: r.durationMs,
              error: r.error,
            }
          : null,
      ]),
    ),
  };
}
