import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Clock } from "../../src/ports/clock";
import type { KvStore, PubSub, RateLimiter } from "../../src/ports/kv";

/** Leaves out a test an implementation cannot express (no clock to move, no second instance). */
const noTest = (_name: string, _fn: () => unknown) => {};

/** One set of shared-state adapters under test; built once per suite. */
export interface KvHarness {
  kv: KvStore;
  limiter: RateLimiter;
  /** The clock the limiter computes `resetAt` from. */
  clock: Clock;
  close(): Promise<void>;
}

/** Rejects when `promise` has not settled within `ms`; a bound on waiting, never a sleep. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** Collects messages and lets a test await the n-th one. */
class Inbox {
  readonly messages: string[] = [];
  #waiters: Array<() => void> = [];
  readonly handler = (message: string): void => {
    this.messages.push(message);
    for (const wake of this.#waiters.splice(0)) wake();
  };
  async waitFor(count: number): Promise<string[]> {
    while (this.messages.length < count)
      await within(new Promise<void>((w) => this.#waiters.push(w)), 2000, "message");
    return this.messages;
  }
}

const tick = () => new Promise<void>((resolve) => queueMicrotask(resolve));

function keys(): (name: string) => string {
  const run = crypto.randomUUID().slice(0, 8);
  let n = 0;
  return (name) => `${run}:${name}:${++n}`;
}

/**
 * KvStore + RateLimiter suite. `advance` moves the implementation's clock; implementations on real
 * time (Redis) leave it out, so the assertions that need time to pass are left out rather than slept
 * through — TTL bookkeeping is still covered through `ttl()` and `resetAt`.
 */
export function kvContract(
  name: string,
  factory: () => Promise<KvHarness>,
  { advance }: { advance?: (ms: number) => void } = {},
) {
  const key = keys();
  let h: KvHarness;
  const expectTtl = async (k: string, max: number) => {
    const left = await h.kv.ttl(k);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(max);
  };
  describe(`shared state contract: ${name}`, () => {
    beforeAll(async () => {
      h = await factory();
    });
    afterAll(async () => {
      await h.close();
      await h.close();
    });

    describe("KvStore", () => {
      test("ping resolves; get, set and overwrite round-trip any string", async () => {
        await h.kv.ping();
        const k = key("str");
        expect(await h.kv.get(k)).toBeNull();
        for (const value of ["one", "", "zwei ✓ 三"]) {
          await h.kv.set(k, value);
          expect(await h.kv.get(k)).toBe(value);
        }
      });

      test("ttl() is in (0, ttl] after set with TTL, -1 without, null when absent; TTL must be > 0", async () => {
        const k = key("ttl");
        await h.kv.set(k, "v", 5000);
        await expectTtl(k, 5000);
        await h.kv.set(k, "v2");
        expect(await h.kv.ttl(k)).toBe(-1);
        expect(await h.kv.ttl(key("absent"))).toBeNull();
        await expect(h.kv.set(key("bad"), "v", 0)).rejects.toThrow();
        await expect(h.kv.setIfAbsent(key("bad"), "v", -5)).rejects.toThrow();
        await expect(h.kv.increment(key("bad"), 0)).rejects.toThrow();
      });

      test("setIfAbsent writes once, keeps the first value and applies the TTL", async () => {
        const k = key("nx");
        expect(await h.kv.setIfAbsent(k, "first", 10_000)).toBe(true);
        expect(await h.kv.setIfAbsent(k, "second", 10_000)).toBe(false);
        expect(await h.kv.get(k)).toBe("first");
        await expectTtl(k, 10_000);
      });

      test("delete reports a removal; deleteIfEquals deletes only on a matching value", async () => {
        const k = key("lock");
        expect(await h.kv.deleteIfEquals(k, "owner")).toBe(false);
        await h.kv.set(k, "owner-a");
        expect(await h.kv.deleteIfEquals(k, "owner-b")).toBe(false);
        expect(await h.kv.get(k)).toBe("owner-a");
        expect(await h.kv.deleteIfEquals(k, "owner-a")).toBe(true);
        expect(await h.kv.get(k)).toBeNull();
        await h.kv.set(k, "v");
        expect(await h.kv.delete(k)).toBe(true);
        expect(await h.kv.delete(k)).toBe(false);
      });

      test("getAndDelete: exactly one of 20 concurrent callers takes the value", async () => {
        const k = key("once");
        await h.kv.set(k, "token");
        const got = await Promise.all(Array.from({ length: 20 }, () => h.kv.getAndDelete(k)));
        expect(got.filter((v) => v !== null)).toEqual(["token"]);
        expect(await h.kv.get(k)).toBeNull();
      });

      test("increment: 50 concurrent calls return 1..50 and lose no update", async () => {
        const k = key("ctr");
        const got = await Promise.all(Array.from({ length: 50 }, () => h.kv.increment(k)));
        expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        expect(await h.kv.get(k)).toBe("50");
      });

      test("increment adds `by`, sets the TTL on creation only, rejects non-integers", async () => {
        const k = key("ctr-ttl");
        expect(await h.kv.increment(k, 2000, 5)).toBe(5);
        expect(await h.kv.increment(k, 60_000, -2)).toBe(3);
        await expectTtl(k, 2000);
        const plain = key("ctr-plain");
        expect(await h.kv.increment(plain)).toBe(1);
        expect(await h.kv.ttl(plain)).toBe(-1);
        await h.kv.set(plain, "abc");
        await expect(h.kv.increment(plain)).rejects.toThrow();
        expect(await h.kv.get(plain)).toBe("abc");
      });

      (advance ? test : noTest)("keys expire when their TTL has elapsed", async () => {
        const [a, b, c] = [key("exp-set"), key("exp-nx"), key("exp-ctr")];
        await h.kv.set(a, "v", 1000);
        await h.kv.setIfAbsent(b, "v", 1000);
        await h.kv.increment(c, 1000);
        advance!(999);
        expect(await h.kv.get(a)).toBe("v");
        expect(await h.kv.ttl(a)).toBe(1);
        advance!(1);
        expect(await h.kv.get(a)).toBeNull();
        expect(await h.kv.ttl(a)).toBeNull();
        expect(await h.kv.setIfAbsent(b, "again", 1000)).toBe(true);
        expect(await h.kv.increment(c, 1000)).toBe(1);
      });
    });

    describe("RateLimiter", () => {
      test("exactly `max` of 30 concurrent consume() calls are allowed", async () => {
        const [k, rule] = [key("rl-burst"), { window: 60_000, max: 10 }];
        const results = await Promise.all(Array.from({ length: 30 }, () => h.limiter.consume(k, rule)));
        const allowed = results.filter((r) => r.allowed).map((r) => r.remaining);
        expect(allowed.sort((x, y) => y - x)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        expect(results.filter((r) => !r.allowed && r.remaining === 0)).toHaveLength(20);
      });

      test("remaining counts down; resetAt is about now + window and stays put", async () => {
        const [k, r] = [key("rl-seq"), { window: 60_000, max: 3 }];
        const before = h.clock.now().getTime();
        const seen = [await h.limiter.consume(k, r)];
        const after = h.clock.now().getTime();
        for (let i = 0; i < 3; i++) seen.push(await h.limiter.consume(k, r));
        const summary = seen.map((s) => `${s.allowed} ${s.remaining}/${s.limit}`);
        expect(summary).toEqual(["true 2/3", "true 1/3", "true 0/3", "false 0/3"]);
        const [first, ...rest] = seen.map((s) => s.resetAt.getTime()) as [number, ...number[]];
        expect(first).toBeGreaterThanOrEqual(before + r.window - 50);
        expect(first).toBeLessThanOrEqual(after + r.window);
        for (const t of rest) expect(Math.abs(t - first)).toBeLessThanOrEqual(50);
      });

      test("keys are counted independently and reset() forgets only its key", async () => {
        const [a, b] = [key("rl-a"), key("rl-b")];
        const r = { window: 60_000, max: 2 };
        const allowed = async (k: string) => (await h.limiter.consume(k, r)).allowed;
        expect([await allowed(a), await allowed(a), await allowed(a)]).toEqual([true, true, false]);
        expect([await allowed(b), await allowed(b), await allowed(b)]).toEqual([true, true, false]);
        await h.limiter.reset(a);
        const again = await h.limiter.consume(a, r);
        expect([again.allowed, again.remaining]).toEqual([true, 1]);
        expect(await allowed(b)).toBe(false);
      });

      (advance ? test : noTest)("a new window opens when the old one has elapsed", async () => {
        const k = key("rl-window");
        const r = { window: 1000, max: 1 };
        expect((await h.limiter.consume(k, r)).allowed).toBe(true);
        advance!(999);
        expect((await h.limiter.consume(k, r)).allowed).toBe(false);
        advance!(1);
        const next = await h.limiter.consume(k, r);
        expect([next.allowed, next.remaining]).toEqual([true, 0]);
        expect(next.resetAt.getTime()).toBe(h.clock.now().getTime() + 1000);
      });
    });
  });
}

/**
 * PubSub suite. Each `factory` call builds one instance, whose `onError` must receive what handlers
 * throw. `crossInstance`: separate instances share one bus (Redis), each standing for an app instance.
 */
export function pubSubContract(
  name: string,
  factory: (onError: (err: unknown) => void) => Promise<{ pubsub: PubSub; close(): Promise<void> }>,
  opts: { crossInstance: boolean },
) {
  const channel = keys();
  const errors: unknown[] = [];
  const open: Array<() => Promise<void>> = [];
  const make = async () => {
    const harness = await factory((err) => errors.push(err));
    open.push(() => harness.close());
    return harness.pubsub;
  };
  let ps: PubSub;
  describe(`PubSub contract: ${name}`, () => {
    beforeAll(async () => {
      ps = await make();
    });
    afterAll(async () => {
      for (const close of open) {
        await close();
        await close();
      }
    });

    test("a message reaches every handler on its channel and no other channel", async () => {
      const [ch, other] = [channel("fanout"), channel("other")];
      const [a, b, elsewhere] = [new Inbox(), new Inbox(), new Inbox()];
      await ps.subscribe(ch, a.handler);
      await ps.subscribe(ch, b.handler);
      await ps.subscribe(other, elsewhere.handler);
      await ps.publish(other, "for-other");
      await ps.publish(ch, "hello");
      expect(await a.waitFor(1)).toEqual(["hello"]);
      expect(await b.waitFor(1)).toEqual(["hello"]);
      await tick();
      expect(elsewhere.messages).toEqual(["for-other"]);
    });

    test("deliveryEpoch: null until a subscription is acknowledged, a number while it holds, null after unsubscribing", async () => {
      const ch = channel("epoch");
      expect(ps.deliveryEpoch(ch)).toBeNull();
      const unsubscribe = await ps.subscribe(ch, () => {});
      const epoch = ps.deliveryEpoch(ch);
      expect(typeof epoch).toBe("number");
      expect(ps.deliveryEpoch(ch)).toBe(epoch); // stable while nothing is lost
      await unsubscribe();
      expect(ps.deliveryEpoch(ch)).toBeNull();
    });

    test("a throwing handler neither stops the others nor escapes", async () => {
      const ch = channel("throws");
      const ok = new Inbox();
      const boom = new Error("handler failed");
      await ps.subscribe(ch, () => {
        throw boom;
      });
      await ps.subscribe(ch, ok.handler);
      await ps.publish(ch, "m1");
      await ps.publish(ch, "m2");
      expect(await ok.waitFor(2)).toEqual(["m1", "m2"]);
      expect(errors.filter((e) => e === boom)).toHaveLength(2);
    });

    test("unsubscribe stops delivery to that handler, then to the last one; twice is harmless", async () => {
      const [ch, done] = [channel("unsub"), channel("sentinel")];
      const [gone, kept, sentinel] = [new Inbox(), new Inbox(), new Inbox()];
      const off = await ps.subscribe(ch, gone.handler);
      const offKept = await ps.subscribe(ch, kept.handler);
      await ps.subscribe(done, sentinel.handler);
      await ps.publish(ch, "before");
      await Promise.all([kept.waitFor(1), gone.waitFor(1)]);
      await off();
      await off();
      await ps.publish(ch, "after");
      expect(await kept.waitFor(2)).toEqual(["before", "after"]);
      // With no handler left the channel is dropped; the sentinel, published later, proves delivery ran.
      await offKept();
      await ps.publish(ch, "late");
      await ps.publish(done, "done");
      await sentinel.waitFor(1);
      await tick();
      expect([gone.messages, kept.messages]).toEqual([["before"], ["before", "after"]]);
    });

    (opts.crossInstance ? test : noTest)("a message reaches subscribers on every instance", async () => {
      const other = await make();
      const ch = channel("instances");
      const [here, there] = [new Inbox(), new Inbox()];
      await ps.subscribe(ch, here.handler);
      await other.subscribe(ch, there.handler);
      await other.publish(ch, "from-b");
      await ps.publish(ch, "from-a");
      expect(await here.waitFor(2)).toEqual(["from-b", "from-a"]);
      expect(await there.waitFor(2)).toEqual(["from-b", "from-a"]);
    });
  });
}
