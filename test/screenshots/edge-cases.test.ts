/**
 * Screenshot uploads at the edges: odd or hostile files and forms never answer 500, images over the
 * pixel limit are named as such, and a failed upload leaves no object in the blob store.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import sharp from "sharp";
import { blobDeletions, screenshots } from "../../src/db/schema";
import { retryDelayMs } from "../../src/modules/screenshots/screenshots.jobs";
import type { BlobObject, BlobStore } from "../../src/ports/blob";
import { createTestApp, runJob as runJobOf, type TestApp } from "../support/app";
import { removeAsAdmin, type SeededMember, seedMember } from "../support/identity";
import { type Agent, agentFor, makeImage, upload, uploaded, uploadForm } from "./support";

/** A blob store that records every key it holds (wraps the platform's). */
class RecordingStore implements BlobStore {
  readonly keys = new Set<string>();
  failPut: ((key: string) => boolean) | null = null;
  /** When set, writes that do not fail land a turn of the event loop after the first is asked for. */
  holdWrites = false;
  gate: Promise<void> | null = null;
  constructor(readonly inner: BlobStore) {}
  async put(key: string, body: Uint8Array, o: { contentType: string }) {
    if (this.failPut?.(key)) throw new Error(`simulated put failure for ${key}`);
    if (this.holdWrites) {
      this.gate ??= new Promise((release) => setTimeout(release, 0));
      await this.gate;
    }
    await this.inner.put(key, body, o);
    this.keys.add(key);
  }
  async get(key: string): Promise<BlobObject | null> {
    return this.inner.get(key);
  }
  failDelete: ((key: string) => boolean) | null = null;
  async delete(key: string) {
    if (this.failDelete?.(key)) throw new Error("simulated delete failure");
    await this.inner.delete(key);
    this.keys.delete(key);
  }
}

let t: TestApp;
let member: SeededMember;
let agent: Agent;
let store: RecordingStore;
beforeEach(async () => {
  t = await createTestApp();
  t.clock.set("2026-01-05T09:00:00.000Z");
  member = await seedMember(t, "member");
  agent = await agentFor(t, member);
  store = new RecordingStore(t.platform.blobs);
  (t.platform as { blobs: BlobStore }).blobs = store;
});
afterEach(() => t.close());

const rows = () => t.platform.db.select().from(screenshots);
const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  t.app.request("/api/v1/ingest/screenshots", {
    method: "POST",
    headers: { ...agent.auth, ...headers },
    body,
  });

/** A PNG whose IHDR claims `w`×`h` (header only; CRC fixed so decoders read the header). */
async function pngClaiming(w: number, h: number): Promise<Uint8Array> {
  const png = new Uint8Array(
    await sharp({ create: { width: 1, height: 1, channels: 3, background: "#888" } })
      .png()
      .toBuffer(),
  );
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  dv.setUint32(16, w);
  dv.setUint32(20, h);
  // CRC over "IHDR" + 13 data bytes (offsets 12..29), stored at 29.
  let c = 0xffffffff;
  for (let i = 12; i < 29; i++) {
    c ^= png[i] as number;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  dv.setUint32(29, (c ^ 0xffffffff) >>> 0);
  return png;
}

describe("screenshots: odd uploads never give a 500", () => {
  test("zero-byte file → 422 naming file; nothing stored", async () => {
    const res = await upload(t, agent.auth, new Uint8Array());
    expect(res.status).toBe(422);
    expect(((await res.json()) as { errors: { path: string }[] }).errors[0]?.path).toBe("file");
    expect(await rows()).toHaveLength(0);
  });

  test("two file parts, or two takenAt parts → 422, nothing stored", async () => {
    const png = await makeImage("png", 16, 16);
    const two = uploadForm(png);
    two.append("file", new File([png as BlobPart], "b.png", { type: "image/png" }));
    expect((await post(two)).status).toBe(422);
    const twoTimes = uploadForm(png, { takenAt: "2026-01-05T08:00:00Z" });
    twoTimes.append("takenAt", "2026-01-05T08:01:00Z");
    expect((await post(twoTimes)).status).toBe(422);
    expect(await rows()).toHaveLength(0);
    expect(store.keys.size).toBe(0);
  });

  test("malformed multipart bodies → 4xx problem, never 500", async () => {
    for (const [ct, body] of [
      ["multipart/form-data; boundary=abc", "this is not multipart at all"],
      ["multipart/form-data; boundary=abc", '--abc\r\nContent-Disposition: form-data; name="file"\r\n\r\nxx'],
      ["multipart/form-data; charset=utf-8", "--abc--"],
    ] as const) {
      const res = await post(body, { "content-type": ct });
      expect(`${ct}: ${res.status < 500}`).toBe(`${ct}: true`);
    }
  });

  test("a PNG header claiming 100000×100000 pixels (decompression bomb) → 422 IMAGE_TOO_LARGE", async () => {
    const res = await upload(t, agent.auth, await pngClaiming(100_000, 100_000));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { code: string }).code).toBe("IMAGE_TOO_LARGE");
    expect(await rows()).toHaveLength(0);
  });

  test("extreme aspect ratios (4000×1, 1×4000) are stored, not a 500", async () => {
    for (const [w, h] of [
      [4000, 1],
      [1, 4000],
    ] as const) {
      const res = await upload(t, agent.auth, await makeImage("png", w, h), {
        takenAt: `2026-01-05T08:0${w > h ? 1 : 2}:00Z`,
      });
      expect(`${w}x${h}: ${res.status}`).toBe(`${w}x${h}: 201`);
    }
  });

  test("EXIF orientation 6: a 400×200 JPEG is stored upright as 200×400", async () => {
    const jpeg = new Uint8Array(
      await sharp(await makeImage("png", 400, 200))
        .jpeg()
        .withMetadata({ orientation: 6 })
        .toBuffer(),
    );
    const body = await uploaded(t, agent, jpeg);
    expect([body.width, body.height]).toEqual([200, 400]);
  });

  test("animated WebP (2 frames) is accepted as its first frame rather than a 500", async () => {
    const raw = await sharp(await makeImage("png", 64, 128))
      .raw()
      .toBuffer();
    const anim = new Uint8Array(
      await sharp(raw, { raw: { width: 64, height: 128, channels: 3, pageHeight: 64 } } as never)
        .webp({ loop: 0 })
        .toBuffer(),
    );
    expect((await sharp(anim, { animated: true }).metadata()).pages).toBe(2);
    const res = await upload(t, agent.auth, anim);
    expect(res.status).toBe(201);
    expect(((await res.json()) as { height: number }).height).toBe(64);
  });

  test("a real 8000×6000 PNG (48 MP, ~150 KB) → 422 IMAGE_TOO_LARGE, not INVALID_IMAGE 'corrupt or truncated'", async () => {
    const big = new Uint8Array(
      await sharp({ create: { width: 8000, height: 6000, channels: 3, background: "#888" } })
        .png()
        .toBuffer(),
    );
    const res = await upload(t, agent.auth, big);
    expect(res.status).toBe(422);
    const body = (await res.json()) as { code: string; detail: string };
    expect(`${body.code}: ${body.detail}`).toStartWith("IMAGE_TOO_LARGE");
  });

  test("takenAt before 2000 (the earliest instant other routes accept) → 422 naming takenAt", async () => {
    const res = await upload(t, agent.auth, await makeImage("png", 16, 16), {
      takenAt: "1970-01-01T00:00:00Z",
    });
    expect(res.status).toBe(422);
  });

  test("two identical uploads at once: one screenshot, exactly three blobs", async () => {
    const png = await makeImage("png", 80, 60);
    const [a, b] = await Promise.all([
      upload(t, agent.auth, png, { takenAt: "2026-01-05T08:00:00Z" }),
      upload(t, agent.auth, png, { takenAt: "2026-01-05T08:00:00Z" }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(await rows()).toHaveLength(1);
    expect(store.keys.size).toBe(3);
  });

  test("listing: tampered cursors → 422; a deleted screenshot's image → 404", async () => {
    const shot = await uploaded(t, agent, await makeImage("png", 32, 32));
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    for (const c of [
      "!!!",
      b64({ t: 1e300, i: "x" }),
      b64({ t: 1.5, i: "x" }),
      b64({ t: 1, i: "x".repeat(100) }),
      b64([1]),
      b64({ t: "1", i: 2 }),
    ]) {
      const r = await t.app.request(`/api/v1/screenshots?cursor=${c}`, { headers: member.auth });
      expect(`${c}: ${r.status}`).toBe(`${c}: 422`);
    }
    expect(
      (await t.app.request(`/api/v1/screenshots/${shot.id}`, { method: "DELETE", headers: member.auth }))
        .status,
    ).toBe(204);
    expect((await t.app.request(`${shot.imageUrl}`, { headers: member.auth })).status).toBe(404);
    expect((await t.app.request(`${shot.thumbnails.small}`, { headers: member.auth })).status).toBe(404);
    expect(
      (await t.app.request(`/api/v1/screenshots/${shot.id}`, { method: "DELETE", headers: member.auth }))
        .status,
    ).toBe(404);
    expect(store.keys.size).toBe(0);
  });
});

describe("screenshots: no blobs without a row", () => {
  test("when one blob write fails, no blob of that upload stays behind", async () => {
    // The small thumbnail fails at once; the other two land only after that failure was handled
    // (the next turn of the event loop, by when the service has run its clean-up).
    store.failPut = (k) => k.endsWith("_s.jpg");
    store.holdWrites = true;
    const res = await upload(t, agent.auth, await makeImage("png", 64, 48));
    expect(res.status).toBe(500);
    await store.gate;
    await t.platform.drain?.();
    expect(await rows()).toHaveLength(0);
    expect([...store.keys]).toEqual([]);
  });
});

describe("images of deleted screenshots are deleted (screenshots.delete-blobs)", () => {
  const runJob = () => runJobOf(t, "screenshots.delete-blobs");
  const queued = async () => (await t.platform.db.select().from(blobDeletions)).map((r) => r.key).sort();

  test("removing a member queues their screenshots' images with the rows' delete, and the job deletes them", async () => {
    const a = await uploaded(t, agent, await makeImage("png", 64, 48), { takenAt: "2026-01-05T08:00:00Z" });
    const b = await uploaded(t, agent, await makeImage("png", 48, 64), { takenAt: "2026-01-05T08:01:00Z" });
    const stored = await rows();
    const keys = stored.flatMap((r) => [r.imageKey, r.mediumKey, r.smallKey]).sort();
    expect([stored.length, store.keys.size, a.id !== b.id]).toEqual([2, 6, true]);
    await removeAsAdmin(t, member);
    // The membership's delete cascaded to the rows and, in the same transaction, queued their objects.
    expect(await rows()).toEqual([]);
    expect(await queued()).toEqual(keys);
    expect(await runJob()).toEqual({ deleted: 6, failed: 0, more: false });
    expect([...store.keys]).toEqual([]);
    expect(await queued()).toEqual([]);
  });

  test("a store that refuses is retried later with backoff; the key leaves the queue once deleted", async () => {
    await uploaded(t, agent, await makeImage("png", 64, 48));
    const [row] = await rows();
    store.failDelete = (k) => k === row?.smallKey;
    await removeAsAdmin(t, member);
    expect(await runJob()).toEqual({ deleted: 2, failed: 1, more: false });
    const [left] = await t.platform.db.select().from(blobDeletions);
    expect([left?.key, left?.attempts, left?.lastError]).toEqual([
      row?.smallKey,
      1,
      "simulated delete failure",
    ]);
    expect(left?.nextAttemptAt.getTime()).toBe(t.clock.now().getTime() + 60_000);
    // Not due yet: nothing tried.
    store.failDelete = null;
    expect(await runJob()).toEqual({ deleted: 0, failed: 0, more: false });
    t.clock.advance(60_000);
    expect(await runJob()).toEqual({ deleted: 1, failed: 0, more: false });
    expect([...store.keys, ...(await queued())]).toEqual([]);
  });

  test("a screenshot deleted through the API removes its images at once and leaves nothing queued", async () => {
    const shot = await uploaded(t, agent, await makeImage("png", 32, 32));
    const res = await t.app.request(`/api/v1/screenshots/${shot.id}`, {
      method: "DELETE",
      headers: member.auth,
    });
    expect(res.status).toBe(204);
    expect([...store.keys, ...(await queued())]).toEqual([]);
  });

  test("backoff: 1, 2, 4 … minutes, at most a day", () => {
    expect([1, 2, 3, 11, 12, 40].map(retryDelayMs)).toEqual([
      60_000, 120_000, 240_000, 61_440_000, 86_400_000, 86_400_000,
    ]);
  });
});
