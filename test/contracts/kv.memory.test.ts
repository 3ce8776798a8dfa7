import { describe, expect, test } from "bun:test";
import { MemoryKvStore, MemoryPubSub, MemoryRateLimiter } from "../../src/adapters/kv/memory";
import { ManualClock } from "../../src/ports/clock";
import { kvContract, pubSubContract } from "./kv.contract";

let clock = new ManualClock();

kvContract(
  "memory",
  async () => {
    clock = new ManualClock();
    const kv = new MemoryKvStore(clock);
    return { kv, limiter: new MemoryRateLimiter(clock), clock, close: () => kv.close() };
  },
  { advance: (ms) => clock.advance(ms) },
);

pubSubContract(
  "memory",
  async (onError) => {
    const pubsub = new MemoryPubSub({ onError });
    return { pubsub, close: () => pubsub.close() };
  },
  { crossInstance: false },
);

describe("memory adapters: behaviour beyond the contract", () => {
  test("a key is gone once the clock passes its TTL, and only then", async () => {
    const c = new ManualClock();
    const kv = new MemoryKvStore(c);
    await kv.set("k", "v", 60_000);
    c.advance(59_999);
    expect(await kv.get("k")).toBe("v");
    c.advance(1);
    expect(await kv.get("k")).toBeNull();
    expect(await kv.getAndDelete("k")).toBeNull();
    expect(await kv.delete("k")).toBe(false);
  });

  test("expired keys are swept even if nobody reads them again", async () => {
    const c = new ManualClock();
    const kv = new MemoryKvStore(c);
    for (let i = 0; i < 2000; i++) await kv.set(`short:${i}`, "v", 1000);
    await kv.set("keep", "v");
    c.advance(1000);
    // Writes past the sweep interval reclaim the abandoned keys without touching them.
    for (let i = 0; i < 600; i++) await kv.set(`live:${i}`, "v", 60_000);
    expect(kv.size).toBe(601);
  });

  test("the rate-limit window resets after the clock advances past it", async () => {
    const c = new ManualClock();
    const limiter = new MemoryRateLimiter(c);
    const rule = { window: 60_000, max: 2 };
    const first = await limiter.consume("ip:1", rule);
    expect(first.resetAt.getTime()).toBe(c.now().getTime() + 60_000);
    await limiter.consume("ip:1", rule);
    expect((await limiter.consume("ip:1", rule)).allowed).toBe(false);
    c.advance(60_000);
    const fresh = await limiter.consume("ip:1", rule);
    expect([fresh.allowed, fresh.remaining]).toEqual([true, 1]);
    expect(fresh.resetAt.getTime()).toBe(c.now().getTime() + 60_000);
  });

  test("a closed store and bus reject further calls", async () => {
    const kv = new MemoryKvStore(new ManualClock());
    await kv.close();
    await kv.close();
    await expect(kv.ping()).rejects.toThrow("closed");
    await expect(kv.get("k")).rejects.toThrow("closed");
    const bus = new MemoryPubSub();
    await bus.close();
    await expect(bus.publish("c", "m")).rejects.toThrow("closed");
  });

  test("publish resolves before any handler runs, like a network round trip", async () => {
    const bus = new MemoryPubSub();
    const seen: string[] = [];
    await bus.subscribe("c", (m) => seen.push(m));
    const published = bus.publish("c", "m");
    expect(seen).toEqual([]);
    await published;
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    expect(seen).toEqual(["m"]);
  });
});
