import type { KvStore } from "../../ports/kv";

/** Stats are cached this long per organization (SPEC 3). */
export const STATS_TTL_MS = 60_000;
/** Outlives every cached entry by far, so a version key that expired cannot revive an old entry. */
const VERSION_TTL_MS = 24 * 3_600_000;

const versionKey = (orgId: string) => `members:stats:ver:${orgId}`;
const entryKey = (orgId: string, version: string) => `members:stats:${orgId}:${version}`;

/**
 * Versioned cache of an organization's member stats in the shared KvStore. A write bumps the
 * version; readers store what they computed under the version they read *before* computing, so a
 * read racing a write can never put stale numbers under the new version.
 */
export const statsCache = {
  async version(kv: KvStore, orgId: string): Promise<string> {
    return (await kv.get(versionKey(orgId))) ?? "0";
  },
  async get(kv: KvStore, orgId: string, version: string): Promise<string | null> {
    return kv.get(entryKey(orgId, version));
  },
  async set(kv: KvStore, orgId: string, version: string, value: string): Promise<void> {
    await kv.set(entryKey(orgId, version), value, STATS_TTL_MS);
  },
  /** Invalidates the organization's cached stats (after a committed write). */
  async invalidate(kv: KvStore, orgId: string): Promise<void> {
    await kv.increment(versionKey(orgId), VERSION_TTL_MS);
  },
};
