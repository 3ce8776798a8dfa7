import type { Db } from "../../db/client";
import { defineJob } from "../../jobs/define";
import type { BlobStore } from "../../ports/blob";
import { deferBlobDeletion, dueBlobDeletions, unqueueBlobDeletions } from "./screenshots.repo";

/** Rows taken per round, rounds per run: a run removes at most 10,000 objects (a member's 90 days). */
const ROUND = 500;
const MAX_ROUNDS = 20;
/** Deletes in flight at once (a remote store is a request each). */
const PARALLEL = 8;
const MAX_BACKOFF_MS = 24 * 60 * 60_000;

/** When a key whose deletion failed `attempts` times is tried again: 1, 2, 4 … minutes, at most a day. */
export const retryDelayMs = (attempts: number) =>
  Math.min(2 ** Math.max(0, attempts - 1) * 60_000, MAX_BACKOFF_MS);

/**
 * Deletes the queued objects that are due: removed from the queue once the store confirms (deleting
 * an object that is already gone is no error), else retried later with backoff.
 */
export async function deleteQueuedBlobs(deps: {
  db: Db;
  blobs: BlobStore;
  now: Date;
}): Promise<{ deleted: number; failed: number; more: boolean }> {
  const { db, blobs, now } = deps;
  let deleted = 0;
  let failed = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const due = await dueBlobDeletions(db, now, ROUND);
    const done: string[] = [];
    for (let i = 0; i < due.length; i += PARALLEL) {
      const slice = due.slice(i, i + PARALLEL);
      const results = await Promise.allSettled(slice.map((row) => blobs.delete(row.key)));
      for (const [j, r] of results.entries()) {
        const row = slice[j] as (typeof due)[number];
        if (r.status === "fulfilled") {
          done.push(row.key);
          continue;
        }
        failed++;
        const attempts = row.attempts + 1;
        await deferBlobDeletion(db, row.key, {
          attempts,
          nextAttemptAt: new Date(now.getTime() + retryDelayMs(attempts)),
          error: String((r.reason as Error)?.message ?? r.reason).slice(0, 500),
        });
      }
    }
    await unqueueBlobDeletions(db, done);
    deleted += done.length;
    if (due.length < ROUND) return { deleted, failed, more: false };
  }
  return { deleted, failed, more: true };
}

export const deleteBlobsJob = defineJob({
  id: "screenshots.delete-blobs",
  cron: "* * * * *",
  description:
    "Delete the stored images of deleted screenshots (their own delete, or their member's removal), retrying failures with backoff.",
  timeoutMs: 10 * 60_000,
  async run({ platform }) {
    const out = await deleteQueuedBlobs({
      db: platform.db,
      blobs: platform.blobs,
      now: platform.clock.now(),
    });
    if (out.failed) platform.logger.warn(out, "some screenshot images could not be deleted; retrying later");
    return out;
  },
});

export const screenshotJobs = [deleteBlobsJob];
