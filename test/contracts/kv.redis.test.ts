import { afterAll, describe, expect, test } from "bun:test";
import type Redis from "ioredis";
import { createRedis, RedisKvStore, RedisPubSub, RedisRateLimiter } from "../../src/adapters/kv/redis";
import { systemClock } from "../../src/ports/clock";
import { requires } from "../support/requirements";
import { kvContract, pubSubContract, within } from "./kv.contract";

const url = process.env.REDIS_URL;

if (requires("Redis (REDIS_URL)", !!url, "set REDIS_URL=redis://127.0.0.1:6379") && url) {
  // One prefix per run: parallel runs and leftovers from earlier runs never collide.
  const keyPrefix = `tt-test:${crypto.randomUUID()}:`;

  afterAll(async () => {
    const admin = createRedis(url);
    let cursor = "0";
    do {
      const [next, found] = await admin.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000);
      if (found.length > 0) await admin.del(...found);
      cursor = next;
    } while (cursor !== "0");
    await admin.quit();
  });

  // No `advance`: Redis keeps real time, so the expiry-after-time assertions are left out rather
  // than slept through; TTLs are still checked through PTTL and resetAt.
  kvContract("redis", async () => {
    const redis = createRedis(url);
    const kv = new RedisKvStore(redis, { keyPrefix });
    const limiter = new RedisRateLimiter(redis, { keyPrefix, clock: systemClock });
    return { kv, limiter, clock: systemClock, close: () => kv.close() };
  });

  pubSubContract(
    "redis",
    async (onError) => {
      const redis: Redis = createRedis(url);
      const pubsub = new RedisPubSub(redis, { keyPrefix, onError });
      let closing: Promise<void> | undefined;
      const close = async () => {
        await pubsub.close();
        await redis.quit();
      };
      return { pubsub, close: () => (closing ??= close()) };
    },
    { crossInstance: true },
  );

  describe("redis adapters: unreachable server", () => {
    const dead = createRedis("redis://127.0.0.1:1", { onError: () => {} });
    const kv = new RedisKvStore(dead);
    const limiter = new RedisRateLimiter(dead);
    const pubsub = new RedisPubSub(dead, { onError: () => {} });
    afterAll(async () => {
      await pubsub.close();
      await kv.close();
    });

    test("ping() rejects within 2 s instead of hanging", async () => {
      await expect(within(kv.ping(), 2000, "ping")).rejects.not.toThrow(/no answer within/);
    });

    test("consume() rejects within 2 s instead of hanging", async () => {
      await expect(
        within(limiter.consume("k", { window: 1000, max: 1 }), 2000, "consume"),
      ).rejects.not.toThrow(/no answer within/);
    });

    test("subscribe() rejects within 2 s instead of hanging", async () => {
      await expect(
        within(
          pubsub.subscribe("c", () => {}),
          2000,
          "subscribe",
        ),
      ).rejects.not.toThrow(/no answer within/);
    });
  });
}
