/**
 * Builds the Cloudflare Workers bundle exactly as `wrangler deploy` would upload it: runs
 * `wrangler deploy --dry-run --outdir dist/worker` (whose [build] step also fills dist/assets) with
 * an esbuild metafile, then reports the script's size and gzip size (what Cloudflare's limit counts).
 *
 * Usage: `bun scripts/build-worker.ts` (tests import `buildWorker`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
export const WORKER_OUTDIR = join(ROOT, "dist/worker");
/** wrangler.toml [assets] directory; its [build] command copies Scalar's bundle here. */
export const ASSETS_DIR = join(ROOT, "dist/assets");

export interface WorkerBuild {
  scriptPath: string;
  bytes: number;
  gzipBytes: number;
  /** Source files esbuild put into the bundle, relative to the project root. */
  inputs: string[];
}

/** Builds into `outdir` (tests pass a fresh directory so parallel runs never share output). */
export async function buildWorker(outdir = WORKER_OUTDIR): Promise<WorkerBuild> {
  const metafile = join(outdir, "bundle-meta.json");
  // wrangler 4.86 still runs on Node 20 (newer releases refuse it) and also runs under Bun.
  const runtime = Bun.which("node") ?? process.execPath;
  const proc = Bun.spawn(
    [
      runtime,
      join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
      "deploy",
      "--dry-run",
      "--outdir",
      outdir,
      "--metafile",
      metafile,
    ],
    {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
      // CI: never prompt (e.g. to log in or pick an account); the dry run needs no account.
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: process.env.CI ?? "true" },
    },
  );
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`wrangler build failed (exit ${code}):\n${out}\n${err}`);

  const scriptPath = join(outdir, "worker.js");
  const script = readFileSync(scriptPath);
  const meta = JSON.parse(readFileSync(metafile, "utf8")) as { inputs: Record<string, unknown> };
  return {
    scriptPath,
    bytes: script.byteLength,
    gzipBytes: Bun.gzipSync(script).byteLength,
    inputs: Object.keys(meta.inputs),
  };
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

if (import.meta.main) {
  const build = await buildWorker();
  console.log(`worker bundle: ${build.scriptPath}: ${kib(build.bytes)}, gzip ${kib(build.gzipBytes)}`);
}
