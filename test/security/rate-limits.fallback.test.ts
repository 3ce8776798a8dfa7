import { describe, expect, test } from "bun:test";
import { FallbackRateLimiter } from "../../src/adapters/kv/fallback";
import { MemoryRateLimiter } from "../../src/adapters/kv/memory";
import { ManualClock } from "../../src/ports/clock";
import type { RateLimiter, RateLimitResult, RateLimitRule } from "../../src/ports/kv";

/** FallbackRateLimiter on its own: a primary that can be made to fail, hang or recover at will. */

class FlakyLimiter implements RateLimiter {
  mode: "ok" | "fail" | "hang" = "ok";
  calls = 0;
  readonly inner: MemoryRateLimiter;
  constructor(clock: ManualClock) {
    this.inner = new MemoryRateLimiter(clock);
  }
  async consume(key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    this.calls++;
    if (this.mode === "fail") throw new Error("ECONNREFUSED");
    if (this.mode === "hang") return new Promise(() => {});
    return this.inner.consume(key, rule);
  }
  async reset(key: string): Promise<void> {
    await this.inner.reset(key);
  }
}

const RULE = { window: 60_000, max: 3 };

function setup(opts: { available?: () => boolean } = {}) {
  const clock = new ManualClock();
  const primary = new FlakyLimiter(clock);
  const fallback = new MemoryRateLimiter(clock);
  let ms = 0;
  const events: string[] = [];
  const limiter = new FallbackRateLimiter(primary, fallback, {
    timeoutMs: 50,
    retryMs: 1000,
    now: () => ms,
    available: opts.available,
    onOutage: (err) => events.push(`outage: ${(err as Error).message}`),
    onRecovery: () => events.push("recovered"),
  });
  return { limiter, primary, fallback, events, advance: (d: number) => (ms += d) };
}

describe("FallbackRateLimiter", () => {
  test("healthy: every call goes to the primary, nothing is counted locally", async () => {
    const { limiter, primary, fallback } = setup();
    for (let i = 0; i < 3; i++) expect((await limiter.consume("k", RULE)).allowed).toBe(true);
    expect((await limiter.consume("k", RULE)).allowed).toBe(false);
    expect(primary.calls).toBe(4);
    expect((await fallback.consume("k", RULE)).remaining).toBe(2); // untouched until now
    expect(limiter.degraded).toBe(false);
  });

  test("an error falls back locally and still enforces the limit; the outage is reported once", async () => {
    const { limiter, primary, events } = setup();
    primary.mode = "fail";
    const results = [];
    for (let i = 0; i < 5; i++) results.push((await limiter.consume("k", RULE)).allowed);
    expect(results).toEqual([true, true, true, false, false]);
    expect(limiter.degraded).toBe(true);
    expect(events).toEqual(["outage: ECONNREFUSED"]);
    // Only the first call tried the primary: the rest waited for the retry interval.
    expect(primary.calls).toBe(1);
  });

  test("a hung primary times out (timeoutMs) and the call is answered locally", async () => {
    const { limiter, primary, events } = setup();
    primary.mode = "hang";
    // A hung primary would leave this await pending until the test times out.
    const r = await limiter.consume("k", RULE);
    expect(r.allowed).toBe(true);
    expect(events[0]).toContain("did not answer within 50 ms");
  });

  test("retries the primary after retryMs, one probe at a time, and switches back on success", async () => {
    const { limiter, primary, events, advance } = setup();
    primary.mode = "fail";
    await limiter.consume("k", RULE);
    advance(500);
    await limiter.consume("k", RULE);
    expect(primary.calls).toBe(1); // too soon to retry
    advance(600);
    await limiter.consume("k", RULE);
    expect(primary.calls).toBe(2); // retried, still failing: the interval starts again
    expect(events).toHaveLength(1); // still the same outage

    primary.mode = "hang";
    advance(1100);
    const probe = limiter.consume("k", RULE);
    const meanwhile = await limiter.consume("k", RULE); // answered locally while the probe is out
    expect(primary.calls).toBe(3);
    expect(meanwhile.allowed).toBe(false); // the local bucket keeps counting: 4th hit
    await probe;

    primary.mode = "ok";
    advance(1100);
    const back = await limiter.consume("k", RULE);
    expect(back.allowed).toBe(true); // primary's own (empty) bucket
    expect(limiter.degraded).toBe(false);
    expect(events).toEqual([expect.stringContaining("outage"), "recovered"]);
  });

  test("while `available()` says disconnected, the primary is not even tried", async () => {
    let up = false;
    const { limiter, primary, events, advance } = setup({ available: () => up });
    for (let i = 0; i < 4; i++) await limiter.consume("k", RULE);
    expect(primary.calls).toBe(0);
    expect(events).toEqual(["outage: shared rate-limit store is disconnected"]);
    up = true;
    advance(1000);
    await limiter.consume("k", RULE);
    expect(primary.calls).toBe(1);
    expect(events.at(-1)).toBe("recovered");
  });

  test("reset clears the key locally and in the primary", async () => {
    const { limiter, primary } = setup();
    for (let i = 0; i < 3; i++) await limiter.consume("k", RULE);
    await limiter.reset("k");
    expect((await primary.inner.consume("k", RULE)).remaining).toBe(2);
  });
});
