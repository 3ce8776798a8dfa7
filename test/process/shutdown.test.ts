/**
 * Graceful shutdown of the real Bun server (SPEC §4): on SIGTERM it stops accepting connections at
 * once, lets the requests already in flight finish (bounded by SHUTDOWN_TIMEOUT_MS), stops the jobs,
 * closes the platform and exits 0.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { isListening, rawConnect, startServer, stopAll } from "../support/process";

afterAll(stopAll);

const TOKEN = "op_shutdown_test_0123456789abcdef0123";
const SHUTDOWN_TIMEOUT_MS = 5_000;
/** Room for process start-up noise on a loaded 2-core machine; not a performance assertion. */
const MARGIN_MS = 5_000;

function runRequestHead(port: number, body: string): string {
  return [
    "POST /api/v1/admin/jobs/db.optimize/run HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    `Authorization: Bearer ${TOKEN}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "",
    "",
  ].join("\r\n");
}

async function connectionError(url: string): Promise<string> {
  try {
    const res = await fetch(url, { keepalive: false });
    return `answered ${res.status}`;
  } catch (err) {
    return String((err as { code?: string }).code ?? (err as Error).message);
  }
}

describe("SIGTERM", () => {
  test("refuses new connections, finishes the half-received in-flight request, then exits 0", async () => {
    const server = await startServer({
      OPERATOR_TOKEN: TOKEN,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });
    const body = JSON.stringify({ wait: true });
    const half = Math.floor(body.length / 2);

    const conn = await rawConnect(server.port);
    conn.write(runRequestHead(server.port, body) + body.slice(0, half));
    // Give the server time to read the head: the request is then in the handler, waiting for the
    // rest of its body. (Another request answered meanwhile shows the event loop went round.)
    await Bun.sleep(300);
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    expect(conn.received()).toBe("");

    const signalledAt = Date.now();
    server.proc.kill("SIGTERM");
    await server.waitForOutput("shutting down");

    // New connections are refused while the old one is still being served...
    expect(await isListening(server.port)).toBe(false);
    expect(await connectionError(`${server.url}/health/live`)).toBe("ECONNREFUSED");
    // ...and the process waits for it rather than exiting.
    await Bun.sleep(300);
    expect(server.proc.exitCode).toBeNull();

    const restSentAt = Date.now();
    conn.write(body.slice(half));
    const res = await conn.response();
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toContain("application/json");
    const run = JSON.parse(res.body) as Record<string, unknown>;
    expect(run).toMatchObject({ jobId: "db.optimize", trigger: "manual", status: "succeeded" });
    expect(run.id).toMatch(/^jrun_/);
    expect(run.finishedAt).toEqual(expect.any(String));
    // The server closes the connection after that response: nobody can start a new request on it.
    await conn.closed;

    const code = await server.waitForExit(SHUTDOWN_TIMEOUT_MS + MARGIN_MS);
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS + MARGIN_MS);

    const logs = server
      .stdout()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logs.find((l) => l.msg === "shutting down: no new connections")).toMatchObject({
      signal: "SIGTERM",
    });
    expect(server.stderr()).toMatch(/TeamTrack stopped after \d+ ms \(SIGTERM\)/);
    // The request began before the signal (its duration spans it), and its log line was flushed before exit.
    const done = logs.find(
      (l) => l.msg === "request completed" && (l.req as { url?: string })?.url?.endsWith("/db.optimize/run"),
    );
    expect(done).toMatchObject({ res: { status: 200 } });
    expect(done!.durationMs as number).toBeGreaterThanOrEqual(restSentAt - signalledAt - 20);
    // It drained: the forced-close path was not needed.
    expect(server.stdout()).not.toContain("did not finish in time");
    conn.destroy();
  });

  test("a request that never completes is cut off after SHUTDOWN_TIMEOUT_MS and the process still exits 0", async () => {
    const timeoutMs = 1_000;
    const server = await startServer({ OPERATOR_TOKEN: TOKEN, SHUTDOWN_TIMEOUT_MS: String(timeoutMs) });
    const body = JSON.stringify({ wait: true });
    const conn = await rawConnect(server.port);
    conn.write(runRequestHead(server.port, body) + body.slice(0, 3)); // the rest never comes
    await Bun.sleep(300);

    const signalledAt = Date.now();
    server.proc.kill("SIGTERM");
    const code = await server.waitForExit(timeoutMs + MARGIN_MS);
    expect(code).toBe(0);
    // It waited for the request first (not an immediate exit), then gave up on it.
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(timeoutMs - 50);
    expect(server.stdout()).toContain("in-flight requests or job runs did not finish in time");
    await conn.closed;
    expect(conn.received()).toBe("");
  });

  test("with the scheduler running, SIGTERM stops the jobs and exits 0 promptly", async () => {
    const server = await startServer({
      OPERATOR_TOKEN: TOKEN,
      JOBS_ENABLED: "true",
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });
    await server.waitForOutput('"msg":"scheduler started"');
    const res = await fetch(`${server.url}/health/live`);
    expect(res.status).toBe(200);
    const code = await server.stop(SHUTDOWN_TIMEOUT_MS + MARGIN_MS);
    expect(code).toBe(0);
    expect(server.stderr()).toMatch(/TeamTrack stopped after \d+ ms \(SIGTERM\)/);
  });

  test("SIGINT shuts down the same way", async () => {
    const server = await startServer({ OPERATOR_TOKEN: TOKEN });
    server.proc.kill("SIGINT");
    expect(await server.waitForExit(SHUTDOWN_TIMEOUT_MS + MARGIN_MS)).toBe(0);
    expect(server.stderr()).toMatch(/TeamTrack stopped after \d+ ms \(SIGINT\)/);
  });
});
