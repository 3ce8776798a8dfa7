/**
 * `teamtrack` command line (`bun run cli …`): operations against the same database and configuration
 * as the server, without serving HTTP or scheduling jobs.
 *
 * Exit codes: 0 done, 1 the command failed (or the configuration is invalid), 2 bad command line.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { EXIT, type Io, stdio, UsageError } from "./context";
import { jobsHelp, jobsListCommand, jobsRunCommand } from "./jobs";
import { migrateCommand, migrateHelp } from "./migrate";
import { seedCommand, seedHelp, validateSeedOptions } from "./seed";

export const usage = `Usage: teamtrack <command> [options]

Commands:
  migrate [--dry-run]     Apply pending database migrations
  jobs list [--json]      List jobs with their cron (UTC) and last run
  jobs run <id> [--json]  Run a job now and wait for it (recorded with trigger "cli")
  keys rotate [--json]    Re-encrypt stored secrets under the first ENCRYPTION_KEYS key
  seed --orgs N --members N --days N [--seed S]
                          Write a realistic demo/benchmark data set into the database
  help [command]          Show help for a command

Options:
  -h, --help              Show help

Configuration comes from the environment, exactly as for the server (see .env.example).
Run \`teamtrack help <command>\` for details.`;

const keysHelp = `Usage: teamtrack keys rotate [--json]

Re-encrypts every stored secret (TOTP secrets …) that is still under an older key. Put the new key
first in ENCRYPTION_KEYS ("<newId>:<base64>,<oldId>:<base64>"), keep the old ones listed, run this
(or wait for the daily keys.rotate job), then drop the old keys. Runs the keys.rotate job, recorded
in job_runs with trigger "cli"; exits 1 when a secret cannot be decrypted with any listed key.

Options:
  --json        Print the run as JSON
  -h, --help    Show this help`;

const HELP: Record<string, string> = { migrate: migrateHelp, jobs: jobsHelp, keys: keysHelp, seed: seedHelp };

const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const;

/** Strict per-command parsing: an unknown option or a missing/extra argument is a usage error. */
function parse<const O extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  args: string[],
  options: O,
) {
  try {
    return parseArgs({ args, options: { ...HELP_OPTION, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: command });
  }
}

export async function run(argv: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        throw new UsageError("missing command");
      case "-h":
      case "--help":
        return help(io, usage);
      case "help": {
        const topic = rest[0];
        if (topic === undefined) return help(io, usage);
        if (HELP[topic]) return help(io, HELP[topic]!);
        throw new UsageError(`no help for "${topic}": unknown command`);
      }
      case "migrate": {
        const { values, positionals } = parse("migrate", rest, { "dry-run": { type: "boolean" } });
        if (values.help) return help(io, migrateHelp);
        if (positionals.length)
          throw new UsageError(`migrate takes no arguments (got "${positionals.join(" ")}")`, {
            cause: "migrate",
          });
        return await migrateCommand({ dryRun: !!values["dry-run"] }, io);
      }
      case "jobs": {
        const { values, positionals } = parse("jobs", rest, { json: { type: "boolean" } });
        const [sub, ...args] = positionals;
        if (values.help) return help(io, jobsHelp);
        if (sub === "list" && args.length === 0) return await jobsListCommand({ json: !!values.json }, io);
        if (sub === "run" && args.length === 1)
          return await jobsRunCommand(args[0]!, { json: !!values.json }, io);
        if (sub === "run") throw new UsageError("jobs run takes exactly one job id", { cause: "jobs" });
        throw new UsageError(sub ? `unknown jobs command "${sub}"` : "missing jobs command (list or run)", {
          cause: "jobs",
        });
      }
      case "keys": {
        const { values, positionals } = parse("keys", rest, { json: { type: "boolean" } });
        if (values.help) return help(io, keysHelp);
        if (positionals.length === 1 && positionals[0] === "rotate")
          return await jobsRunCommand("keys.rotate", { json: !!values.json }, io);
        throw new UsageError("usage: keys rotate", { cause: "keys" });
      }
      case "seed": {
        const { values, positionals } = parse("seed", rest, {
          orgs: { type: "string" },
          members: { type: "string" },
          days: { type: "string" },
          seed: { type: "string" },
          "heartbeat-seconds": { type: "string" },
          password: { type: "string" },
          json: { type: "boolean" },
        });
        if (values.help) return help(io, seedHelp);
        if (positionals.length)
          throw new UsageError(`seed takes no arguments (got "${positionals.join(" ")}")`, { cause: "seed" });
        const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));
        const opts = {
          orgs: num(values.orgs, 1),
          members: num(values.members, 10),
          days: num(values.days, 7),
          seed: num(values.seed, 1),
          heartbeatSeconds: num(values["heartbeat-seconds"], 30),
          password: values.password,
        };
        const invalid = validateSeedOptions(opts);
        if (invalid) throw new UsageError(invalid, { cause: "seed" });
        return await seedCommand({ ...opts, json: !!values.json }, io);
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`teamtrack: ${err.message}\n`);
    io.err(typeof err.cause === "string" && HELP[err.cause] ? HELP[err.cause]! : usage);
    return EXIT.usage;
  }
}

function help(io: Io, text: string): number {
  io.out(text);
  return EXIT.ok;
}

/**
 * Ends by setting the exit code rather than calling process.exit(), which would cut off stdout still
 * being piped to a slow reader (measured: a 5 MB write truncated to 64 KiB). If some handle keeps the
 * process alive after the platform is closed, the unref'd timer ends it anyway.
 */
function finish(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 5_000).unref();
}

if (import.meta.main) {
  run(process.argv.slice(2)).then(finish, (err) => {
    console.error("teamtrack: command failed:", err);
    finish(EXIT.failed);
  });
}
