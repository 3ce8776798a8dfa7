/**
 * Bun entry point: validate config, build the platform, serve HTTP, run the scheduler, and shut down
 * gracefully on SIGTERM/SIGINT (stop accepting, finish in-flight requests, stop jobs, flush, close).
 */
import { createApp } from "../app";
import { type Config, formatReport, parseConfig } from "../config/env";
import { createBunPlatform } from "../platform/bun";
import { withDevSecrets } from "../platform/dev-secrets";
import { startCronScheduler } from "../platform/scheduler";

export function loadConfig(raw: Record<string, string | undefined> = process.env): Config {
  let env = raw;
  const notes: string[] = [];
  if ((raw.NODE_ENV ?? "development") !== "production") {
    const dev = withDevSecrets(raw);
    env = dev.env;
    if (dev.filled.length)
      notes.push(
        `  ! ${dev.filled.join(", ")}: not set; using development values ${dev.created ? "generated into" : "from"} ${dev.path}`,
      );
  }
  const report = parseConfig(env);
  const text = formatReport(report);
  if (text || notes.length) console.error([text, ...notes].filter(Boolean).join("\n"));
  if (!report.config) {
    console.error("Refusing to start: fix the configuration errors above (see .env.example).");
    process.exit(1);
  }
  return report.config;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const platform = await createBunPlatform(config);
  const { app, services } = createApp(platform);
  const log = platform.logger;

  const server = Bun.serve({
    port: config.PORT,
    hostname: config.HOST,
    // Bun enforces the body limit on the socket too, well above the per-route JSON limit.
    maxRequestBodySize: Math.max(config.BODY_LIMIT_BYTES, 8 * 1024 * 1024),
    idleTimeout: 30,
    // The socket address only when asked for (most requests never need it).
    fetch: (req, srv) =>
      app.fetch(req, {
        get ip() {
          return srv.requestIP(req)?.address;
        },
      }),
  });
  const scheduler = config.JOBS_ENABLED ? startCronScheduler(services.jobs, log) : null;
  log.info(
    { url: `http://${config.HOST}:${server.port}`, db: platform.dbDialect, redis: !!config.REDIS_URL },
    "TeamTrack listening",
  );
  console.error(`TeamTrack listening on http://localhost:${server.port} (docs: /docs)`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    const started = Date.now();
    log.info({ signal, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, "shutting down: no new connections");
    // Stop firing jobs at once; stop(false) closes the listener and lets in-flight requests finish.
    const jobsStopped = scheduler?.stop() ?? Promise.resolve();
    const drained = server.stop(false);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      Promise.all([drained, jobsStopped]).then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), config.SHUTDOWN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      log.warn("in-flight requests or job runs did not finish in time; closing them");
      await server.stop(true);
    }
    // Flushing telemetry and closing connections must not hold the exit hostage either.
    await Promise.race([platform.close(), Bun.sleep(2_000)]);
    console.error(`TeamTrack stopped after ${Date.now() - started} ms (${signal})`);
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

if (import.meta.main) {
  main().catch((err) => {
    console.error("TeamTrack failed to start:", err);
    process.exit(1);
  });
}
