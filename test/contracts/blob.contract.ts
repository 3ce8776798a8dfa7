/**
 * What every BlobStore does (src/ports/blob.ts): the filesystem and memory stores and the S3 one
 * against a real S3-compatible server pass the same suite.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { BlobStore } from "../../src/ports/blob";

export function blobContract(
  name: string,
  open: () => Promise<{ store: BlobStore; close(): Promise<void> }>,
  opts: { presigns: boolean },
) {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await open());
    });
    afterEach(() => close());

    const bytes = (n: number, seed = 7) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256);

    test("put then get: the same bytes, content type and size; every byte value survives", async () => {
      const body = Uint8Array.from({ length: 256 }, (_, i) => i);
      await store.put("org_1/2026/03/02/shot.jpg", body, { contentType: "image/jpeg" });
      const got = await store.get("org_1/2026/03/02/shot.jpg");
      expect(got?.contentType).toBe("image/jpeg");
      expect(got?.size).toBe(256);
      expect(Array.from(got?.body ?? [])).toEqual(Array.from(body));
    });

    test("a missing key is null; a second put replaces the object", async () => {
      expect(await store.get("org_1/none.jpg")).toBeNull();
      await store.put("k/a.webp", bytes(10), { contentType: "image/webp" });
      await store.put("k/a.webp", bytes(3, 1), { contentType: "image/png" });
      const got = await store.get("k/a.webp");
      expect([got?.contentType, got?.size, Array.from(got?.body ?? [])]).toEqual([
        "image/png",
        3,
        Array.from(bytes(3, 1)),
      ]);
    });

    test("delete removes the object; deleting what is not there is fine", async () => {
      await store.put("k/b.jpg", bytes(5), { contentType: "image/jpeg" });
      await store.delete("k/b.jpg");
      expect(await store.get("k/b.jpg")).toBeNull();
      await store.delete("k/b.jpg");
      await store.delete("k/never.jpg");
    });

    test("objects of a few MiB and many at once, each under its own key", async () => {
      const big = bytes(3 * 1024 * 1024);
      await Promise.all([
        store.put("big/one.jpg", big, { contentType: "image/jpeg" }),
        ...Array.from({ length: 20 }, (_, i) =>
          store.put(`many/${i}.jpg`, bytes(100 + i, i), { contentType: "image/jpeg" }),
        ),
      ]);
      const got = await store.get("big/one.jpg");
      expect(got?.size).toBe(big.byteLength);
      expect(Buffer.from(got?.body ?? []).equals(Buffer.from(big))).toBe(true);
      const sizes = await Promise.all(Array.from({ length: 20 }, (_, i) => store.get(`many/${i}.jpg`)));
      expect(sizes.map((o) => o?.size)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    });

    test("keys outside the safe alphabet or climbing out with .. are refused", async () => {
      for (const key of ["../etc/passwd", "a/../../b", "/abs", "sp ace", "", "ü.jpg"])
        await expect(store.put(key, bytes(1), { contentType: "image/jpeg" })).rejects.toThrow(
          "invalid blob key",
        );
    });

    test(`signedUrl: ${opts.presigns ? "fetches the object without other credentials" : "not offered"}`, async () => {
      expect(typeof store.signedUrl).toBe(opts.presigns ? "function" : "undefined");
      if (!opts.presigns || !store.signedUrl) return;
      await store.put("signed/c.jpg", bytes(42), { contentType: "image/jpeg" });
      const res = await fetch(await store.signedUrl("signed/c.jpg", 60));
      expect([res.status, res.headers.get("content-type")]).toEqual([200, "image/jpeg"]);
      expect(Array.from(new Uint8Array(await res.arrayBuffer()))).toEqual(Array.from(bytes(42)));
    });
  });
}
