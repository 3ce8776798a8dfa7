import { createApp } from "../app";
import type { Services } from "../http/context";
import { createBunPlatform } from "../platform/bun";
import type { Platform } from "../ports/platform";
import { loadConfig } from "../runtime/bun";

/** What a command prints to, so output can be captured and results never mix with logs. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const stdio: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Exit codes: 0 done, 1 the command failed, 2 the command line was wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export class UsageError extends Error {}

export interface CliContext {
  platform: Platform;
  services: Services;
}

/**
 * Builds the same platform and app as the server, from the same environment, but never schedules
 * jobs. Logs go to stderr (stdout carries the command's result) at `warn` unless LOG_LEVEL is set.
 * `loadConfig` prints the configuration report and exits 1 when the configuration is invalid.
 */
export async function openContext(opts: { migrate?: boolean } = {}): Promise<CliContext> {
  const config = loadConfig({ LOG_LEVEL: "warn", ...process.env });
  const platform = await createBunPlatform(
    { ...config, JOBS_ENABLED: false },
    { migrate: opts.migrate, logDestination: { write: (chunk: string) => void process.stderr.write(chunk) } },
  );
  const { services } = createApp(platform);
  return { platform, services };
}

/** Opens the context, runs `fn`, and always closes the platform (drains deferred work, closes the DB). */
export async function withContext(
  opts: { migrate?: boolean },
  fn: (ctx: CliContext) => Promise<number>,
): Promise<number> {
  const ctx = await openContext(opts);
  try {
    return await fn(ctx);
  } finally {
    await ctx.platform.close();
  }
}
