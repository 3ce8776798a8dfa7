/**
 * What SQLite keeps per connection, for every connection of this process to the database file:
 * the server's (libsql.ts) and the workers' (write.worker.ts; checkpoint.worker.ts needs only the
 * busy timeout). One list, so the connections cannot drift apart.
 */

/** How long a write waits for another writer's lock (another process; this process's own take turns). */
export const BUSY_TIMEOUT_MS = 5_000;

export const CONNECTION_PRAGMAS = [
  `PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`,
  // NORMAL is durable at WAL checkpoints and much faster than FULL, the WAL default.
  "PRAGMA synchronous = NORMAL",
  "PRAGMA foreign_keys = ON",
] as const;
