import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "./tools";

/** The repository root: spawned processes run from here, as `npm start` would. */
export const ROOT = join(import.meta.dir, "../..");

/** Only these variables reach a child from the test runner: a developer's own DATABASE_URL or REDIS_URL must not. */
const PASS_THROUGH = ["PATH", "HOME", "TMPDIR", "LANG", "TZ", "SQLD_BIN"];

/** A fresh temporary directory, removed by `cleanupTempDirs()`. */
const tempDirs = new Set<string>();
export function tempDir(prefix = "tt-proc-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function baseEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of PASS_THROUGH) if (process.env[k] !== undefined) out[k] = process.env[k]!;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Collects a child's stream as text while it runs, so tests can look at partial output. */
function capture(stream: ReadableStream<Uint8Array>): { text(): string; done: Promise<void> } {
  let text = "";
  const decoder = new TextDecoder();
  const done = (async () => {
    const reader = stream.getReader();
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    text += decoder.decode();
  })().catch(() => {});
  return { text: () => text, done };
}

export interface ChildProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  env: Record<string, string>;
  stdout(): string;
  stderr(): string;
  /** Exit code once the process has exited and its output has been read to the end. */
  exited: Promise<number>;
  /** Resolves when stdout+stderr contain `pattern`; rejects on timeout or exit. */
  waitForOutput(pattern: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code, or null when it did not exit within `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<number | null>;
  /** Kills it (SIGKILL) if still running and waits. Safe to call twice. */
  kill(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Spawns `bun <args>` in the repository root with a clean environment (see PASS_THROUGH). */
export function spawnBun(args: string[], env: Record<string, string | undefined>): ChildProcess {
  const fullEnv = baseEnv(env);
  const proc = Bun.spawn([process.execPath, ...args], {
    cwd: ROOT,
    env: fullEnv,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = capture(proc.stdout);
  const err = capture(proc.stderr);
  const exited = (async () => {
    const code = await proc.exited;
    await Promise.all([out.done, err.done]);
    return code;
  })();
  const child: ChildProcess = {
    proc,
    env: fullEnv,
    stdout: out.text,
    stderr: err.text,
    exited,
    async waitForOutput(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      const seen = () => {
        const all = out.text() + err.text();
        return typeof pattern === "string" ? all.includes(pattern) : pattern.test(all);
      };
      while (!seen()) {
        if (proc.exitCode !== null || proc.signalCode !== null) {
          await exited;
          if (seen()) return;
          throw new Error(
            `process exited before printing ${pattern}\nstdout:\n${out.text()}\nstderr:\n${err.text()}`,
          );
        }
        if (Date.now() > deadline)
          throw new Error(
            `no ${pattern} within ${timeoutMs} ms\nstdout:\n${out.text()}\nstderr:\n${err.text()}`,
          );
        await Bun.sleep(20);
      }
    },
    async waitForExit(timeoutMs) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const code = await Promise.race([
        exited,
        new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs))),
      ]);
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
      running.delete(child);
    },
  };
  running.add(child);
  void exited.then(() => running.delete(child));
  return child;
}

export interface ServerProcess extends ChildProcess {
  url: string;
  port: number;
  dataDir: string;
  /** SIGTERM, then the exit code (null if it did not exit in `timeoutMs`, in which case it is killed). */
  stop(timeoutMs?: number): Promise<number | null>;
}

/**
 * Spawns the real server (`bun src/runtime/bun.ts`) without waiting for it. Defaults: a fresh
 * DATA_DIR, a free PORT on 127.0.0.1, NODE_ENV=development, JOBS_ENABLED=false; `env` overrides any
 * of them (a value of `undefined` removes the variable).
 */
export async function spawnServer(env: Record<string, string | undefined> = {}): Promise<ServerProcess> {
  const port = env.PORT && /^\d+$/.test(env.PORT) ? Number(env.PORT) : await freePort();
  const dataDir = env.DATA_DIR ?? tempDir();
  // Benchmarks: BENCH_CPU_PROF=DIR writes a markdown CPU profile of each server there on exit.
  const prof = process.env.BENCH_CPU_PROF;
  const args = prof ? ["--cpu-prof-md", `--cpu-prof-dir=${prof}`] : [];
  const child = spawnBun([...args, "src/runtime/bun.ts"], {
    NODE_ENV: "development",
    JOBS_ENABLED: "false",
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: dataDir,
    ...env,
  });
  return Object.assign(child, {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    async stop(timeoutMs = 15_000) {
      if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill("SIGTERM");
      const code = await child.waitForExit(timeoutMs);
      if (code === null) await child.kill();
      return code;
    },
  });
}

/** Spawns the real server and waits until /health/live answers 200; throws with its output if it exits or hangs. */
export async function startServer(
  env: Record<string, string | undefined> = {},
  timeoutMs = 20_000,
): Promise<ServerProcess> {
  const server = await spawnServer(env);
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) {
      const code = await server.exited;
      throw new Error(
        `server exited with ${code} before listening\nstdout:\n${server.stdout()}\nstderr:\n${server.stderr()}`,
      );
    }
    try {
      const res = await fetch(`${server.url}/health/live`);
      await res.arrayBuffer();
      if (res.ok) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.kill();
      throw new Error(
        `server did not answer /health/live within ${timeoutMs} ms\nstdout:\n${server.stdout()}\nstderr:\n${server.stderr()}`,
      );
    }
    await Bun.sleep(50);
  }
}

/** Kills every child still running and removes temporary directories; call from afterAll. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => c.kill()));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Is anything accepting TCP connections on this port? */
export async function isListening(port: number, host = "127.0.0.1"): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: host, port, socket: { data() {} } });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

// Last resort if a test file forgets afterAll(stopAll): never leave servers behind.
process.on("exit", () => {
  for (const c of running) c.proc.kill("SIGKILL");
});

export interface RawConnection {
  write(data: string): void;
  /** Everything received so far. */
  received(): string;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  /** Waits for one complete HTTP/1.1 response (Content-Length framed) and parses it. */
  response(timeoutMs?: number): Promise<{ status: number; headers: Record<string, string>; body: string }>;
  destroy(): void;
}

/**
 * A hand-driven HTTP/1.1 connection, for what fetch cannot do: send a request's head and only part
 * of its body, then do something else (send SIGTERM) before sending the rest.
 */
export async function rawConnect(port: number, host = "127.0.0.1"): Promise<RawConnection> {
  const socket = connect(port, host);
  let data = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    data = Buffer.concat([data, chunk]);
  });
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  socket.on("error", () => {});
  const parse = () => {
    const end = data.indexOf("\r\n\r\n");
    if (end < 0) return null;
    const [statusLine, ...lines] = data.subarray(0, end).toString("latin1").split("\r\n");
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(":");
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const length = Number(headers["content-length"] ?? Number.NaN);
    const body = data.subarray(end + 4);
    if (!Number.isFinite(length) || body.length < length) return null;
    return {
      status: Number(statusLine!.split(" ")[1]),
      headers,
      body: body.subarray(0, length).toString("utf8"),
    };
  };
  return {
    write: (s) => void socket.write(s),
    received: () => data.toString("utf8"),
    closed,
    async response(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const r = parse();
        if (r) return r;
        if (socket.destroyed || Date.now() > deadline)
          throw new Error(
            `no complete response (${socket.destroyed ? "connection closed" : "timeout"}); got: ${JSON.stringify(data.toString("utf8"))}`,
          );
        await Bun.sleep(10);
      }
    },
    destroy: () => void socket.destroy(),
  };
}
