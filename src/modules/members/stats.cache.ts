import type { KvStore } from "../../ports/kv";

/** Stats are cached this long per organization (SPEC 3). */
export const STATS_TTL_MS = 60_000;
/** Outlives every cached entry by far, so a version key that expired cannot revive an old entry. */
const VERSION_TTL_MS = 24 * 3_600_000;

const versionKey = (orgId: string) => `members:stats:ver:${orgId}`;
const activityKey = (orgId: string) => `members:stats:act:${orgId}`;
const entryKey = (orgId: string, version: string) => `members:stats:${orgId}:${version}`;

/**
 * Versioned cache of an organization's member stats in the shared KvStore. A write bumps the
 * version; readers store what they computed under the version they read *before* computing, so a
 * read racing a write can never put stale numbers under the new version. Two versions: `full`
 * (entries, timers, members, profiles: everything is recomputed) and `activity` (heartbeats and
 * presence changes: the cached entry names the activity version it is current for, and only
 * presence and activity are refreshed).
 */
export const statsCache = {
  async versions(kv: KvStore, orgId: string): Promise<{ full: string; activity: string }> {
    const [full, activity] = await Promise.all([kv.get(versionKey(orgId)), kv.get(activityKey(orgId))]);
    return { full: full ?? "0", activity: activity ?? "0" };
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
  /** Only presence and today's activity moved (heartbeats, presence job). */
  async invalidateActivity(kv: KvStore, orgId: string): Promise<void> {
    await kv.increment(activityKey(orgId), VERSION_TTL_MS);
  },
};
