import { pendingMigrations } from "../db/migrate";
import { migrations } from "../db/migrations.generated";
import type { JobRun } from "../jobs/runner";
import { serializeRun } from "../modules/jobs/jobs.handlers";
import { type CliContext, EXIT, type Io, withContext } from "./context";

export const jobsHelp = `Usage: teamtrack jobs <list|run> [options]

Commands:
  list [--json]         Every registered job: id, cron (UTC), last run, description
  run <id> [--json]     Run one job now and wait for it; recorded in job_runs with trigger "cli".
                        Exits 0 when the run succeeded, 1 when it failed, is unknown or already running.

Options:
  --json        Print JSON instead of a table / summary
  -h, --help    Show this help`;

/** With MIGRATE_ON_START=false the schema may lag behind this build; say so instead of failing on a missing table. */
async function requireCurrentSchema({ platform }: CliContext, io: Io): Promise<boolean> {
  const pending = await pendingMigrations(platform.db, migrations);
  if (pending.length === 0) return true;
  io.err(
    `The database has ${pending.length} pending migration(s) (${pending.map((m) => m.tag).join(", ")}); run \`teamtrack migrate\` first.`,
  );
  return false;
}

function lastRunText(run: JobRun | null): string {
  if (!run) return "never";
  const took = run.durationMs == null ? "" : `, ${run.durationMs} ms`;
  return `${run.status} ${run.startedAt.toISOString()} (${run.trigger}${took})`;
}

export async function jobsListCommand(opts: { json: boolean }, io: Io): Promise<number> {
  return withContext({}, async (ctx) => {
    if (!(await requireCurrentSchema(ctx, io))) return EXIT.failed;
    const { jobs } = ctx.services;
    const last = await jobs.lastRuns();
    const list = jobs.list();
    if (opts.json) {
      const data = list.map((j) => ({
        id: j.id,
        cron: j.cron,
        description: j.description,
        lastRun: last[j.id] ? serializeRun(last[j.id]!) : null,
      }));
      io.out(JSON.stringify({ data }, null, 2));
      return EXIT.ok;
    }
    const rows = [
      ["ID", "CRON (UTC)", "LAST RUN", "DESCRIPTION"],
      ...list.map((j) => [j.id, j.cron, lastRunText(last[j.id] ?? null), j.description]),
    ];
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      io.out(
        r
          .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
          .join("  ")
          .trimEnd(),
      );
    return EXIT.ok;
  });
}

export async function jobsRunCommand(id: string, opts: { json: boolean }, io: Io): Promise<number> {
  return withContext({}, async (ctx) => {
    const { jobs, events } = ctx.services;
    if (!jobs.get(id)) {
      io.err(
        `Unknown job "${id}". Known jobs: ${jobs
          .list()
          .map((j) => j.id)
          .join(", ")}.`,
      );
      return EXIT.failed;
    }
    if (!(await requireCurrentSchema(ctx, io))) return EXIT.failed;
    const outcome = await jobs.run(id, { trigger: "cli" });
    if (outcome.status === "skipped") {
      io.err(
        `Job "${id}" was not run: ${outcome.reason === "already-running" ? "a run is already in progress" : outcome.reason}.`,
      );
      return EXIT.failed;
    }
    const { run } = outcome;
    await events.emit(
      events.create("job.triggered", { jobId: id, runId: run.id, trigger: "cli" }, { actor: "cli" }),
    );
    if (opts.json) io.out(JSON.stringify(serializeRun(run), null, 2));
    else if (run.status === "succeeded") {
      io.out(`${id} succeeded in ${run.durationMs} ms (run ${run.id})`);
      if (run.result) io.out(run.result);
    } else io.err(`${id} failed after ${run.durationMs} ms (run ${run.id}): ${run.error}`);
    return run.status === "succeeded" ? EXIT.ok : EXIT.failed;
  });
}
