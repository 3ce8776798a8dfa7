/**
 * The write thread for the embedded libSQL file (Bun): a Worker with its own connection that
 * commits the heaviest write batches (heartbeat ingest's group commits) off the thread that serves
 * HTTP (write.worker.ts).
 *
 * Under batched ingest about half of the server's CPU time was SQLite running those batches on the
 * event loop (bench/ingest.ts, profiled), while the machine's second core sat partly idle. On this
 * thread the event loop keeps reading, parsing, validating and planning the next requests while
 * SQLite writes the current group. Both connections use WAL, so the server's reads never wait for
 * this thread's writes.
 *
 * Writes take turns: the thread's batches and the server connection's own writes (`serializeWrites`)
 * go through one `WriteLock`, so a write on the server's connection waits for a batch here
 * asynchronously instead of meeting SQLite's lock, whose busy handler would sleep on the event loop
 * until the batch committed. busy_timeout stays as the guard against other processes.
 *
 * Why by hand: neither libSQL nor @libsql/client runs statements on another thread (their local
 * client is synchronous under its promises); this is a message queue to a Bun Worker.
 */
import { type Client, type InStatement, LibsqlError } from "@libsql/client";
import type { WriteQuery, WriteThread } from "../../db/write-thread";
import { type QueryObserver, sqlOperation } from "../../telemetry/db";
import { stmtSql } from "./libsql-instrument";
import type { Reply, Request } from "./write.worker";

/**
 * One writer at a time among this process's connections to the file, in the order they asked —
 * except that the write thread's batches may queue on the thread back to back: the thread runs its
 * messages one after another, so a batch sent while the previous one commits still commits after it,
 * and the thread starts it without waiting for the server to see the previous answer. A write on the
 * server's connection still waits for every batch before it.
 */
export class WriteLock {
  /** Settles when every write asked for so far has finished. */
  #idle: Promise<void> = Promise.resolve();
  /** While the newest write is a thread batch: settles once it has been sent. */
  #queued: Promise<void> | null = null;

  /**
   * Runs `write` when its turn comes. A thread batch (`onThread`) calls `sent` once it has posted its
   * batch to the thread: the next thread batch may go from then on (a batch that ends or fails
   * without calling it lets the next one go then). Any other write waits for every write before it.
   */
  run<T>(write: (sent: () => void) => Promise<T>, onThread = false): Promise<T> {
    const gate = onThread && this.#queued ? this.#queued : this.#idle;
    let sent: () => void = () => {};
    const posted = new Promise<void>((r) => {
      sent = r;
    });
    const result = gate.then(() => write(sent));
    const done = result.then(
      () => undefined,
      () => undefined,
    );
    void done.then(sent);
    const before = this.#idle;
    this.#idle = before.then(() => done);
    this.#queued = onThread ? posted : null;
    return result;
  }
}

/** A SELECT, or a WITH … SELECT (a common table expression in front of a write is a write). */
const isRead = (sql: string) => {
  const op = sqlOperation(sql);
  return op === "select" || (op === "with" && !/\b(?:insert|update|delete|replace)\b/i.test(sql));
};

/**
 * The server's client with its writes taken in turn with the write thread's batches: `execute` of
 * anything but a SELECT, a batch holding one, and `executeMultiple`. Reads pass straight through.
 * (The app runs no interactive transactions — D1 has none — so `transaction` is not wrapped.)
 */
export function serializeWrites(client: Client, lock: WriteLock): Client {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "execute")
        return (stmt: InStatement, args?: unknown) => {
          const run = () => target.execute(stmt as never, args as never);
          return isRead(stmtSql(stmt)) ? run() : lock.run(run);
        };
      if (prop === "batch")
        return (stmts: InStatement[], mode?: Parameters<Client["batch"]>[1]) => {
          const run = () => target.batch(stmts, mode);
          return stmts.every((s) => isRead(stmtSql(s))) ? run() : lock.run(run);
        };
      if (prop === "executeMultiple") return (sql: string) => lock.run(() => target.executeMultiple(sql));
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** The thread's error as @libsql/client reports one on the server's connection. */
function sqliteError(msg: Extract<Reply, { type: "error" }>): Error {
  if (!msg.code) return new Error(msg.message);
  // "SQLITE_CONSTRAINT_UNIQUE" → base code "SQLITE_CONSTRAINT", as the client maps raw codes.
  const base = msg.code.split("_").slice(0, 2).join("_");
  return new LibsqlError(msg.message, base, msg.code, msg.rawCode);
}

interface Waiting {
  resolve(results: unknown[]): void;
  reject(err: Error): void;
}

/**
 * Opens the thread's connection to the database file at `path` (as SQLite resolved it); rejects
 * when it cannot. Batches are observed like the server connection's (duration, span, slow-query
 * log), each timed from when the thread could start it: its posting, or the answer to the batch
 * queued before it.
 */
export function startWriteThread(
  path: string,
  opts: { lock?: WriteLock; autocheckpointPages?: number | null; observe?: QueryObserver } = {},
): Promise<WriteThread> {
  const lock = opts.lock ?? new WriteLock();
  const worker = new Worker(new URL("./write.worker.ts", import.meta.url).href);
  const post = (msg: Request) => worker.postMessage(msg);
  // Bun's Worker has ref()/unref(); the DOM typings the project compiles with do not.
  const hold = (on: boolean) => (worker as Worker & { ref(): void; unref(): void })[on ? "ref" : "unref"]();
  const waiting = new Map<number, Waiting>();
  let nextId = 1;
  /** Settles when the thread has answered every batch posted so far (observed times start there). */
  let answered: Promise<void> = Promise.resolve();
  let committed = 0;
  let dead: Error | null = null;
  let closing: Promise<void> | null = null;
  let onClosed: (() => void) | null = null;
  const die = (err: Error) => {
    dead ??= err;
    for (const w of waiting.values()) w.reject(dead);
    waiting.clear();
    onClosed?.();
    worker.terminate();
  };

  const send = (queries: WriteQuery[]) =>
    new Promise<unknown[]>((resolve, reject) => {
      if (dead) return reject(dead);
      const id = nextId++;
      // Keep the process alive while a batch is in flight (a CLI may be awaiting nothing else).
      if (waiting.size === 0) hold(true);
      waiting.set(id, { resolve, reject });
      post({ type: "batch", id, queries });
    });

  const thread: WriteThread = {
    batch(queries) {
      if (dead) return Promise.reject(dead);
      if (closing) return Promise.reject(new Error("write thread is closed"));
      return lock.run((sent) => {
        const answer = send(queries);
        // Posted, the batch holds its place in the thread's queue: the next one may follow it.
        sent();
        const before = answered;
        answered = answer.then(
          () => undefined,
          () => undefined,
        );
        const { observe } = opts;
        if (!observe) return answer;
        // Timed from when the thread could start it, not including the batch ahead of it.
        return before.then(() => observe("batch", queries.map((q) => q.sql).join(";\n"), () => answer));
      }, true);
    },
    get usable() {
      return !dead && !closing;
    },
    get committed() {
      return committed;
    },
    close() {
      // Batches asked for before close() run first: they are ahead of it in the lock.
      closing ??= lock
        .run(() =>
          dead
            ? Promise.resolve()
            : new Promise<void>((done) => {
                const timeout = setTimeout(done, 5_000);
                onClosed = () => {
                  clearTimeout(timeout);
                  done();
                };
                post({ type: "close" });
              }),
        )
        .finally(() => worker.terminate());
      return closing;
    },
  };

  return new Promise((resolve, reject) => {
    worker.onerror = (e) => {
      die(new Error(`write thread: ${e.message}`));
      reject(dead);
    };
    worker.addEventListener("close", () => {
      if (closing && !dead) return;
      die(new Error("write thread: the worker exited"));
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
        } else w?.reject(sqliteError(msg));
        // Nothing in flight: the process may exit without closing the thread.
        if (waiting.size === 0) hold(false);
      } else if (msg.type === "opened") {
        hold(false);
        resolve(thread);
      } else if (msg.type === "failed") {
        die(new Error(`write thread: ${msg.error}`));
        reject(dead);
      } else if (msg.type === "closed") onClosed?.();
    };
    post({ type: "open", path, autocheckpointPages: opts.autocheckpointPages ?? null });
  });
}
