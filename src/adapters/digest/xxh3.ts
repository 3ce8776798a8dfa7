/**
 * Hex XXH3-64 of a response body, for ETags on Bun: Bun's native hash, about a fifth of a
 * microsecond for a small JSON answer, where node:crypto's SHA-1 (adapters/digest/sha1.ts, used on
 * Workers) allocates a Hash object per call and profiled at ~9% of a cheap authenticated GET over
 * HTTP. An ETag only has to tell two versions of one resource apart: 64 bits make a stale 304 a
 * one-in-2^64 event per change, and nobody can steer a victim's body to collide without knowing it.
 */
export function xxh3Hex(data: string | Uint8Array): string {
  return Bun.hash.xxHash3(data).toString(16).padStart(16, "0");
}
