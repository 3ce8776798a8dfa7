/**
 * Background WAL checkpoints for the embedded libSQL file (Bun).
 *
 * SQLite checkpoints a WAL database from inside the commit that pushes the WAL past
 * `wal_autocheckpoint` pages (1,000 by default): that commit copies the frames into the database file
 * and fsyncs it on the event loop. Under ingest load this was most of the commit cost and every
 * p99 spike: commits took 43 µs at the median and 4–16 ms when they checkpointed, and those
 * checkpoints were ~60% of all commit time (bench/ingest.ts, profiled). Here a worker thread with its
 * own connection runs a PASSIVE checkpoint every `intervalMs` instead (checkpoint.worker.ts); PASSIVE
 * never takes the write lock, so the server keeps committing meanwhile. The server's connection keeps
 * an automatic checkpoint only as a backstop, at `BACKSTOP_PAGES`, should the worker fall behind.
 *
 * Why by hand: neither libSQL nor @libsql/client checkpoints in the background; this is one PRAGMA
 * on a timer in a Bun Worker.
 */

/** The server connection's own checkpoint threshold while the worker runs (~40 MB of WAL). */
export const BACKSTOP_PAGES = 10_000;

/**
 * The write thread's own checkpoint threshold (~16 MB of WAL; write-thread.ts). SQLite restarts the
 * WAL from its beginning only when a write starts with every frame already copied, and under
 * continuous ingest the thread commits again before a background checkpoint finishes, so the WAL
 * grew to the backstop and the commit that reached it copied everything still uncopied (commits of
 * 20–50 ms instead of ~2, the batch-of-50 p99). The thread's own checkpoint at this lower mark finds
 * most frames already copied by the background checkpointer, copies the rest, and the next batch
 * restarts the WAL.
 */
export const WRITE_THREAD_CHECKPOINT_PAGES = 4_000;

export interface CheckpointStats {
  runs: number;
  errors: number;
  /** WAL frames, and frames copied into the database, as the last run reported them. */
  log: number;
  checkpointed: number;
  /** The WAL's modification time the last run saw. */
  walMtime: number;
}

/** Stats before the first run (both sides of the worker start from these). */
export function emptyCheckpointStats(): CheckpointStats {
  return { runs: 0, errors: 0, log: 0, checkpointed: 0, walMtime: -1 };
}

export interface BackgroundCheckpointer {
  readonly stats: CheckpointStats;
  /** Stops the timer after one last checkpoint and closes the worker's connection. */
  close(): Promise<void>;
}

type Message =
  | { type: "started" }
  | { type: "failed"; error: string }
  | { type: "stats"; stats: CheckpointStats }
  | { type: "stopped"; stats: CheckpointStats };

/** Starts the worker on the database file at `path`; rejects when it cannot open the file. */
export function startCheckpointer(path: string, intervalMs: number): Promise<BackgroundCheckpointer> {
  const worker = new Worker(new URL("./checkpoint.worker.ts", import.meta.url).href);
  const stats = emptyCheckpointStats();
  let onStopped: (() => void) | null = null;
  let closing: Promise<void> | null = null;
  return new Promise((resolve, reject) => {
    worker.onerror = (e) => reject(new Error(`checkpoint worker: ${e.message}`));
    worker.onmessage = (e: MessageEvent<Message>) => {
      const msg = e.data;
      if (msg.type === "stats" || msg.type === "stopped") Object.assign(stats, msg.stats);
      if (msg.type === "failed") {
        worker.terminate();
        reject(new Error(`checkpoint worker: ${msg.error}`));
      } else if (msg.type === "stopped") onStopped?.();
      else if (msg.type === "started") {
        // The process may exit while the worker waits for its next tick.
        (worker as Worker & { unref?(): void }).unref?.();
        resolve({
          stats,
          close() {
            closing ??= new Promise<void>((done) => {
              const timeout = setTimeout(done, 5_000);
              onStopped = () => {
                clearTimeout(timeout);
                done();
              };
              worker.postMessage({ type: "stop" });
            }).finally(() => worker.terminate());
            return closing;
          },
        });
      }
    };
    worker.postMessage({ type: "start", path, intervalMs });
  });
}
