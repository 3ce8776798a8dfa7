import { describe, expect, test } from "bun:test";
import { hex } from "../../src/lib/crypto";
import { firstSightings, heartbeatKey } from "../../src/modules/activity/ingest.repo";
import { domainMemo } from "../../src/modules/activity/privacy";

const k = (time: number, clientId: string) => ({ time, clientId });
const sightings = (known: Set<string>, keys: { time: number; clientId: string }[]) => {
  const isNew = firstSightings(known, keys);
  return keys.map((x) => isNew(x.time, x.clientId));
};

describe("firstSightings: which heartbeats of a batch are new", () => {
  test("an in-order batch with nothing stored: all new", () => {
    expect(sightings(new Set(), [k(1, "a"), k(1, "b"), k(2, "a")])).toEqual([true, true, true]);
  });

  test("a key repeated in the batch counts once, in order or not", () => {
    expect(sightings(new Set(), [k(1, "a"), k(1, "a"), k(2, "a")])).toEqual([true, false, true]);
    expect(sightings(new Set(), [k(2, "a"), k(1, "a"), k(2, "a")])).toEqual([true, true, false]);
    // Same time, client ids out of order: not "strictly increasing", still every key once.
    expect(sightings(new Set(), [k(1, "b"), k(1, "a"), k(1, "b")])).toEqual([true, true, false]);
  });

  test("keys already stored are never new, even in an in-order batch", () => {
    const stored = new Set([heartbeatKey(1, "a")]);
    expect(sightings(stored, [k(1, "a"), k(2, "a")])).toEqual([false, true]);
  });
});

describe("domainMemo", () => {
  test("answers as domainOf for each URL, repeated or not", () => {
    const domain = domainMemo();
    const urls = [
      "https://WWW.Example.COM/a",
      "https://WWW.Example.COM/a",
      "chrome://settings",
      "chrome://settings",
      null,
      "http://intranet/x",
      "https://WWW.Example.COM/a",
    ];
    expect(urls.map(domain)).toEqual([
      "example.com",
      "example.com",
      null,
      null,
      null,
      "intranet",
      "example.com",
    ]);
  });
});

test("hex: two lower-case digits a byte", () => {
  expect(hex(new Uint8Array([0, 1, 15, 16, 171, 255]))).toBe("00010f10abff");
  expect(hex(new Uint8Array([222, 173, 190, 239]).buffer)).toBe("deadbeef");
  expect(hex(new Uint8Array([]))).toBe("");
});
