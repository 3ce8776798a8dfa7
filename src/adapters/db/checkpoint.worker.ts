/**
 * Worker thread of the background checkpointer (checkpointer.ts): its own libSQL connection to the
 * database file, running `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs`. A PASSIVE checkpoint
 * copies committed WAL frames into the database file and syncs it without taking the write lock, so
 * the server's connection keeps committing meanwhile; the file I/O and fsync happen on this thread.
 */
import { statSync } from "node:fs";
import Database from "libsql";
import { emptyCheckpointStats } from "./checkpointer";
import { BUSY_TIMEOUT_MS } from "./connection-settings";

interface Start {
  type: "start";
  path: string;
  intervalMs: number;
}

declare const self: {
  onmessage: ((e: MessageEvent<Start | { type: "stop" }>) => void) | null;
  postMessage(message: unknown): void;
};

let db: Database.Database | null = null;
let pragma: Database.Statement | null = null;
let timer: ReturnType<typeof setInterval> | null = null;
const stats = emptyCheckpointStats();

let walPath = "";
let checkpointedAt = -1;

/** The WAL's last modification (ms), or -1 when it cannot be read. */
function walChanged(): number {
  try {
    return statSync(walPath).mtimeMs;
  } catch {
    return -1;
  }
}

function checkpoint(force = false): void {
  if (!pragma) return;
  // Nothing committed since the last complete checkpoint: leave the WAL alone. An idle checkpoint
  // still takes the WAL's locks for a moment, and a write starting then cannot restart the WAL
  // from its beginning (it appends, and the file grows).
  const changed = walChanged();
  if (!force && changed !== -1 && changed === checkpointedAt) return;
  stats.walMtime = changed;
  try {
    // all(), not get(): the statement must run to its end, or it keeps a read snapshot open and
    // the server's connection can never restart the WAL from its beginning.
    const [r] = pragma.all() as {
      busy: number;
      log: number;
      checkpointed: number;
    }[];
    if (!r) return;
    stats.runs++;
    stats.log = r.log;
    stats.checkpointed = r.checkpointed;
    if (!r.busy && r.checkpointed === r.log) checkpointedAt = changed;
  } catch {
    stats.errors++;
  }
  self.postMessage({ type: "stats", stats });
}

self.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === "start") {
    try {
      db = new Database(msg.path);
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      pragma = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
      walPath = `${msg.path}-wal`;
      timer = setInterval(() => checkpoint(), msg.intervalMs);
      self.postMessage({ type: "started" });
    } catch (err) {
      self.postMessage({ type: "failed", error: String((err as Error).message ?? err) });
    }
  } else if (msg.type === "stop") {
    if (timer) clearInterval(timer);
    checkpoint(true);
    pragma = null;
    db?.close();
    db = null;
    self.postMessage({ type: "stopped", stats });
  }
};
