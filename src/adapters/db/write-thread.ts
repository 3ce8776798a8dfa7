/**
 * The write thread for the embedded libSQL file (Bun): a Worker with its own connection that
 * commits the heaviest write batches (heartbeat ingest's group commits) off the thread that serves
 * HTTP (write.worker.ts).
 *
 * Under batched ingest about half of the server's CPU time was SQLite running those batches on the
 * event loop (bench/ingest.ts, profiled), while the machine's second core sat partly idle. On this
 * thread the event loop keeps reading, parsing, validating and planning the next requests while
 * SQLite writes the current group. Both connections use WAL: the server's reads never wait for this
 * thread's writes, and a write on the server's own connection waits for the lock as it would for
 * another process (busy_timeout).
 *
 * Why by hand: neither libSQL nor @libsql/client runs statements on another thread (their local
 * client is synchronous under its promises); this is a message queue to a Bun Worker.
 */
import type { WriteQuery, WriteThread } from "../../db/write-thread";
import type { QueryObserver } from "../../telemetry/db";
import type { Reply, Request } from "./write.worker";

interface Waiting {
  resolve(results: unknown[]): void;
  reject(err: Error): void;
}

/** An error as libSQL reports it on the server's own connection: message and SQLite code. */
function sqliteError(message: string, code: string | undefined): Error {
  const err = new Error(message) as Error & { code?: string };
  if (code) err.code = code;
  return err;
}

/**
 * Opens the thread's connection to the database file at `path`; rejects when it cannot. Batches are
 * observed like the server connection's (duration, span, slow-query log) when `observe` is given.
 */
export function startWriteThread(
  path: string,
  opts: { autocheckpointPages?: number | null; observe?: QueryObserver } = {},
): Promise<WriteThread> {
  const worker = new Worker(new URL("./write.worker.ts", import.meta.url).href);
  const post = (msg: Request) => worker.postMessage(msg);
  const waiting = new Map<number, Waiting>();
  let nextId = 1;
  let committed = 0;
  let dead: Error | null = null;
  let closing: Promise<void> | null = null;
  let onClosed: (() => void) | null = null;
  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };

  const send = (queries: WriteQuery[]) =>
    new Promise<unknown[]>((resolve, reject) => {
      if (dead) return reject(dead);
      if (closing) return reject(new Error("write thread is closed"));
      const id = nextId++;
      // Keep the process alive while a batch is in flight (a CLI may be awaiting nothing else).
      if (waiting.size === 0) (worker as Worker & { ref?(): void }).ref?.();
      waiting.set(id, { resolve, reject });
      post({ type: "batch", id, queries });
    });

  const thread: WriteThread = {
    batch(queries) {
      if (!opts.observe) return send(queries);
      return opts.observe("batch", queries.map((q) => q.sql).join(";\n"), () => send(queries));
    },
    get usable() {
      return !dead && !closing;
    },
    get committed() {
      return committed;
    },
    close() {
      closing ??= new Promise<void>((done) => {
        const timeout = setTimeout(done, 5_000);
        onClosed = () => {
          clearTimeout(timeout);
          done();
        };
        // Batches already posted run first: the worker handles messages in order.
        post({ type: "close" });
      }).finally(() => {
        failAll(new Error("write thread is closed"));
        worker.terminate();
      });
      return closing;
    },
  };

  return new Promise((resolve, reject) => {
    worker.onerror = (e) => {
      dead = new Error(`write thread: ${e.message}`);
      failAll(dead);
      reject(dead);
    };
    worker.addEventListener("close", () => {
      if (closing) return;
      dead ??= new Error("write thread: the worker exited");
      failAll(dead);
      reject(dead);
    });
    worker.onmessage = (e: MessageEvent<Reply>) => {
      const msg = e.data;
      if (msg.type === "done" || msg.type === "error") {
        const w = waiting.get(msg.id);
        waiting.delete(msg.id);
        if (msg.type === "done") {
          committed++;
          w?.resolve(msg.results);
        } else w?.reject(sqliteError(msg.message, msg.code));
        // Nothing in flight: the process may exit without closing the thread.
        if (waiting.size === 0) (worker as Worker & { unref?(): void }).unref?.();
      } else if (msg.type === "opened") {
        (worker as Worker & { unref?(): void }).unref?.();
        resolve(thread);
      } else if (msg.type === "failed") {
        worker.terminate();
        reject(new Error(`write thread: ${msg.error}`));
      } else if (msg.type === "closed") onClosed?.();
    };
    post({ type: "open", path, autocheckpointPages: opts.autocheckpointPages ?? null });
  });
}
