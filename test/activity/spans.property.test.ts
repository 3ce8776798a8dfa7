/**
 * Property: however a heartbeat sequence is delivered (any order, repeated heartbeats, any split
 * into batches), the stored spans equal those built from the sorted, de-duplicated sequence; and
 * the hourly rollup always equals the sum of the stored pieces.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { activityHours } from "../../src/db/schema";
import { createTestApp, type TestApp } from "../support/app";
import { type ModelHeartbeat, modelPieces } from "./model";
import { type Hb, ingest, setSettings, storedPieces, tracker } from "./support";

const BASE = Date.parse("2026-03-02T08:30:00Z");

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  t.clock.set("2026-03-02T18:00:00Z");
});
afterAll(() => t?.close());

// Data drawn from few values (equal neighbours are common, so spans merge); times mostly on a
// 30 s grid so that equal times and gaps of exactly pulsetime (the merge boundary) happen often.
const heartbeatArb = (maxOffset: number) =>
  fc.record({
    offset: fc.oneof(
      fc.integer({ min: 0, max: maxOffset / 30 }).map((k) => k * 30),
      fc.integer({ min: 0, max: maxOffset }),
    ),
    duration: fc.oneof(fc.constantFrom(0, 30, 60), fc.integer({ min: 0, max: 180 })),
    app: fc.constantFrom("Code", "Code", "Code", "Firefox"),
    title: fc.constantFrom("a", "a", "b", null),
    url: fc.constantFrom(null, null, "https://example.com/x"),
    idle: fc.constantFrom(false, false, false, true),
  });

/** A sequence of distinct heartbeats and a delivery plan: order, duplicates, batch sizes. */
const scenario = fc
  // Dense (within an hour) or spread over three hours (spans crossing hour boundaries).
  .constantFrom(1800, 3 * 3600)
  .chain((maxOffset) => fc.array(heartbeatArb(maxOffset), { minLength: 1, maxLength: 40 }))
  .chain((hbs) =>
    fc.record({
      hbs: fc.constant(hbs.map((h, i) => ({ ...h, id: `c${String(i).padStart(3, "0")}` }))),
      order: fc.shuffledSubarray(
        hbs.map((_, i) => i),
        { minLength: hbs.length, maxLength: hbs.length },
      ),
      repeats: fc.array(fc.nat({ max: hbs.length - 1 }), { maxLength: 10 }),
      batchSizes: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 50 }),
      pulsetime: fc.constantFrom(30, 60, 300),
    }),
  );

const toHb = (h: {
  id: string;
  offset: number;
  duration: number;
  app: string;
  title: string | null;
  url: string | null;
  idle: boolean;
}): Hb => ({
  id: h.id,
  time: new Date(BASE + h.offset * 1000).toISOString(),
  duration: h.duration,
  app: h.app,
  title: h.title,
  url: h.url,
  idle: h.idle,
});

const toModel = (h: Hb): ModelHeartbeat => ({
  id: h.id,
  time: Date.parse(h.time),
  durationMs: h.duration * 1000,
  app: h.app,
  title: h.title ?? null,
  url: h.url ?? null,
  idle: h.idle,
});

describe("span building is order-independent", () => {
  test("any permutation/duplication/batching equals the sorted, de-duplicated sequence", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const who = await tracker(t);
        await setSettings(t, who.orgId, { pulsetimeSeconds: s.pulsetime });
        const all = s.hbs.map(toHb);
        // Delivery: the permutation, with some heartbeats sent again at random points.
        const delivery = s.order.map((i) => all[i] as Hb);
        for (const [k, r] of s.repeats.entries())
          delivery.splice((k * 7) % (delivery.length + 1), 0, all[r] as Hb);
        let at = 0;
        let b = 0;
        while (at < delivery.length) {
          const size = s.batchSizes[b++ % s.batchSizes.length] as number;
          await ingest(t, who, delivery.slice(at, at + size));
          at += size;
        }
        const expected = modelPieces(all.map(toModel), s.pulsetime * 1000);
        const stored = await storedPieces(t, who.memberId);
        expect(stored).toEqual(expected);

        // The rollup equals the pieces, hour by hour.
        const hours = new Map<number, { active: number; idle: number }>();
        for (const p of expected) {
          const h = p.start - (p.start % 3_600_000);
          const v = hours.get(h) ?? { active: 0, idle: 0 };
          if (p.idle) v.idle += p.end - p.start;
          else v.active += p.end - p.start;
          hours.set(h, v);
        }
        const rollup = await t.platform.db
          .select()
          .from(activityHours)
          .where(eq(activityHours.memberId, who.memberId));
        const got = new Map(rollup.map((r) => [r.hour, { active: r.activeMs, idle: r.idleMs }]));
        for (const [h, v] of hours) expect(got.get(h) ?? { active: 0, idle: 0 }).toEqual(v);
        for (const [h, v] of got) if (!hours.has(h)) expect(v).toEqual({ active: 0, idle: 0 });
      }),
      { numRuns: 150 },
    );
  });
});
