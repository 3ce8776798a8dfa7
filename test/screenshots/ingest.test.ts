import { afterEach, beforeEach, describe, expect, spyOn, test } from "bun:test";
import { eq } from "drizzle-orm";
import sharp from "sharp";
import { screenshots } from "../../src/db/schema";
import type { DomainEvent } from "../../src/events/types";
import { sha256Hex } from "../../src/lib/crypto";
import { sniffImage } from "../../src/modules/screenshots/screenshots.model";
import { SCREENSHOT_MAX_BYTES } from "../../src/modules/screenshots/screenshots.service";
import { setSettings } from "../activity/support";
import { createTestApp, type TestApp } from "../support/app";
import { type SeededMember, seedMember } from "../support/identity";
import { createPat } from "../tokens/support";
import {
  type Agent,
  agentFor,
  JPEG_MAGIC,
  makeImage,
  rowOf,
  startsWith,
  upload,
  uploaded,
  uploadForm,
} from "./support";

let t: TestApp;
let member: SeededMember;
let agent: Agent;
beforeEach(async () => {
  t = await createTestApp();
  member = await seedMember(t, "member");
  agent = await agentFor(t, member);
});
afterEach(() => t.close());

const problem = async (res: Response) => {
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  return (await res.json()) as { code: string; status: number; errors?: { path: string }[] };
};

async function blob(key: string) {
  const b = await t.platform.blobs.get(key);
  if (!b) throw new Error(`no blob ${key}`);
  return b;
}

describe("POST /api/v1/ingest/screenshots: conversion", () => {
  test("a 3000×2000 PNG is stored as a JPEG q80 fitted to 1620×1080 with exact 300×200 and 150×100 thumbnails", async () => {
    const png = await makeImage("png", 3000, 2000);
    const res = await upload(t, agent.auth, png, {
      takenAt: "2026-01-05T08:59:00Z",
      app: "Figma",
      title: " Design ",
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>;
    const id = body.id as string;
    expect(id).toMatch(/^scr_/);
    expect(res.headers.get("location")).toBe(`/api/v1/screenshots/${id}`);
    expect(body).toMatchObject({
      agentId: agent.id,
      takenAt: "2026-01-05T08:59:00.000Z",
      createdAt: t.clock.now().toISOString(),
      app: "Figma",
      title: "Design",
      width: 1620,
      height: 1080,
      imageUrl: `/api/v1/screenshots/${id}/image`,
      thumbnails: {
        small: `/api/v1/screenshots/${id}/thumbnail?size=small`,
        medium: `/api/v1/screenshots/${id}/thumbnail?size=medium`,
      },
    });
    const row = await rowOf(t, id);
    expect(row).toMatchObject({ orgId: member.orgId, sourceFormat: "png", sourceSize: png.byteLength });
    expect(row?.sourceSha256).toBe(await sha256Hex(png));

    const full = await blob(row?.imageKey as string);
    expect(full.contentType).toBe("image/jpeg");
    expect(startsWith(full.body, JPEG_MAGIC)).toBe(true);
    expect(full.size).toBe(body.size as number);
    expect(await sha256Hex(full.body)).toBe(body.sha256 as string);
    const meta = await sharp(full.body).metadata();
    expect(meta).toMatchObject({ format: "jpeg", width: 1620, height: 1080 });
    // Aspect ratio kept (3:2).
    expect((meta.width as number) / (meta.height as number)).toBeCloseTo(1.5, 2);

    for (const [key, w, h] of [
      [row?.mediumKey, 300, 200],
      [row?.smallKey, 150, 100],
    ] as const) {
      const thumb = await blob(key as string);
      expect(startsWith(thumb.body, JPEG_MAGIC)).toBe(true);
      expect(await sharp(thumb.body).metadata()).toMatchObject({ format: "jpeg", width: w, height: h });
    }
  });

  test("JPEG and WebP inputs are accepted; a small image is not enlarged; transparency becomes white", async () => {
    const jpeg = await uploaded(t, agent, await makeImage("jpeg", 2560, 1600), { filename: "a.jpg" });
    expect([jpeg.width, jpeg.height]).toEqual([1728, 1080]);
    expect((await rowOf(t, jpeg.id))?.sourceFormat).toBe("jpeg");

    const webp = await uploaded(t, agent, await makeImage("webp", 800, 600, { alpha: true }), {
      filename: "b.webp",
    });
    expect([webp.width, webp.height]).toEqual([800, 600]);
    const row = await rowOf(t, webp.id);
    expect(row?.sourceFormat).toBe("webp");
    const { data } = await sharp((await blob(row?.imageKey as string)).body)
      .raw()
      .toBuffer({ resolveWithObject: true });
    // The left half was transparent: near white, not black.
    expect(data[0]).toBeGreaterThan(240);

    // A tall image is fitted by height.
    const tall = await uploaded(t, agent, await makeImage("png", 1000, 3000));
    expect([tall.width, tall.height]).toEqual([360, 1080]);
    const thumb = await blob((await rowOf(t, tall.id))?.smallKey as string);
    expect(await sharp(thumb.body).metadata()).toMatchObject({ width: 150, height: 100 });
  });

  test("the type comes from the content: a JPEG named .png with type image/gif is stored as a JPEG source", async () => {
    const body = await uploaded(t, agent, await makeImage("jpeg", 400, 300), {
      filename: "shot.png",
      type: "image/gif",
    });
    expect((await rowOf(t, body.id))?.sourceFormat).toBe("jpeg");
  });

  test("blob keys are the org id plus ≥128 random bits, distinct per upload, and never in responses", async () => {
    const png = await makeImage("png", 64, 48);
    const a = await uploaded(t, agent, png, { takenAt: "2026-01-05T08:00:00Z" });
    const b = await uploaded(t, agent, png, { takenAt: "2026-01-05T08:01:00Z" });
    const rows = await t.platform.db.select().from(screenshots).where(eq(screenshots.orgId, member.orgId));
    expect(rows).toHaveLength(2);
    const keys = rows.flatMap((r) => [r.imageKey, r.mediumKey, r.smallKey]);
    const escaped = member.orgId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    for (const k of keys)
      expect(k).toMatch(new RegExp(`^${escaped}/screenshots/[0-9A-Za-z]{32}(_m|_s)?\\.jpg$`));
    // 32 base62 characters ≈ 190 bits; nothing derived from ids or times.
    const stems = new Set(keys.map((k) => k.split("/")[2]?.slice(0, 32)));
    expect(stems.size).toBe(2);
    for (const s of stems) expect(s).not.toContain(a.id.slice(4, 14));
    const listing = await (await t.app.request("/api/v1/screenshots", { headers: member.auth })).text();
    const detail = await (
      await t.app.request(`/api/v1/screenshots/${b.id}`, { headers: member.auth })
    ).text();
    for (const k of keys) {
      const stem = k.split("/")[2]?.slice(0, 32) as string;
      expect(listing).not.toContain(stem);
      expect(detail).not.toContain(stem);
    }
  });

  test("a retried upload (same bytes and takenAt) returns the stored screenshot with 200 and stores nothing new", async () => {
    const png = await makeImage("png", 200, 100);
    const first = await uploaded(t, agent, png, { takenAt: "2026-01-05T08:30:00Z" });
    const again = await upload(t, agent.auth, png, { takenAt: "2026-01-05T08:30:00Z" });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { id: string }).id).toBe(first.id);
    // Two at once: one row, the loser answers with the winner.
    const png2 = await makeImage("png", 210, 100);
    const [r1, r2] = await Promise.all([
      upload(t, agent.auth, png2, { takenAt: "2026-01-05T08:31:00Z" }),
      upload(t, agent.auth, png2, { takenAt: "2026-01-05T08:31:00Z" }),
    ]);
    expect([r1.status, r2.status].sort()).toEqual([200, 201]);
    const [b1, b2] = (await Promise.all([r1.json(), r2.json()])) as { id: string }[];
    expect(b1?.id).toBe(b2?.id as string);
    const rows = await t.platform.db.select().from(screenshots).where(eq(screenshots.orgId, member.orgId));
    expect(rows).toHaveLength(2);
  });

  test("emits screenshot.created with the member, capture time and size", async () => {
    const seen: DomainEvent<"screenshot.created">[] = [];
    t.services.events.on("screenshot.created", (e) => {
      seen.push(e);
    });
    const body = await uploaded(t, agent, await makeImage("png", 320, 200), {
      takenAt: "2026-01-05T08:45:00Z",
    });
    await t.platform.drain();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      type: "screenshot.created",
      orgId: member.orgId,
      actor: agent.id,
      payload: {
        screenshotId: body.id,
        memberId: body.memberId,
        takenAt: "2026-01-05T08:45:00.000Z",
        width: 320,
        height: 200,
        size: body.size,
      },
    });
  });
});

describe("POST /api/v1/ingest/screenshots: privacy rules (before anything is stored)", () => {
  const rules = (list: { field: string; pattern: string; action: string }[]) =>
    setSettings(t, member.orgId, { privacyRules: JSON.stringify(list) });
  const stored = () => t.platform.db.select().from(screenshots).where(eq(screenshots.orgId, member.orgId));

  test("redact stores [redacted] for the matching app or title; other screenshots keep theirs", async () => {
    await rules([
      { field: "title", pattern: "[Pp]ayroll", action: "redact" },
      { field: "app", pattern: "^Signal$", action: "redact" },
    ]);
    const a = await uploaded(t, agent, await makeImage("png", 40, 20), {
      takenAt: "2026-01-05T09:00:00Z",
      app: "Excel",
      title: "Payroll March.xlsx",
    });
    expect(a).toMatchObject({ app: "Excel", title: "[redacted]" });
    const b = await uploaded(t, agent, await makeImage("png", 41, 20), {
      takenAt: "2026-01-05T09:01:00Z",
      app: "Signal",
      title: "Chats",
    });
    expect(b).toMatchObject({ app: "[redacted]", title: "Chats" });
    const c = await uploaded(t, agent, await makeImage("png", 42, 20), {
      takenAt: "2026-01-05T09:02:00Z",
      app: "Figma",
      title: "Checkout flow",
    });
    expect(c).toMatchObject({ app: "Figma", title: "Checkout flow" });
    const rows = await stored();
    expect(rows.map((r) => [r.app, r.title]).sort()).toEqual([
      ["Excel", "[redacted]"],
      ["Figma", "Checkout flow"],
      ["[redacted]", "Chats"],
    ]);
  });

  test("drop answers 204 and stores nothing: no image, no row, no event; the next screenshot is stored", async () => {
    await rules([
      { field: "title", pattern: "Online banking", action: "drop" },
      { field: "app", pattern: "^1Password$", action: "drop" },
    ]);
    const put = spyOn(t.platform.blobs, "put");
    const images = t.platform.images;
    if (!images) throw new Error("the test platform has an image processor");
    const decode = spyOn(images, "process");
    const seen: string[] = [];
    t.services.events.on("screenshot.created", (e) => {
      seen.push(e.payload.screenshotId);
    });
    for (const [app, title] of [
      ["Firefox", "Online banking – Example Bank"],
      ["1Password", "Vault"],
    ] as const) {
      const res = await upload(t, agent.auth, await makeImage("png", 30, 30), { app, title });
      expect(res.status).toBe(204);
      expect(await res.text()).toBe("");
      expect(res.headers.get("location")).toBeNull();
    }
    await t.platform.drain();
    expect(decode).not.toHaveBeenCalled();
    expect(put).not.toHaveBeenCalled();
    expect(seen).toEqual([]);
    expect(await stored()).toHaveLength(0);
    // A retry of a dropped upload is dropped again; a screenshot of another window is kept.
    expect((await upload(t, agent.auth, await makeImage("png", 30, 30), { app: "1Password" })).status).toBe(
      204,
    );
    const kept = await uploaded(t, agent, await makeImage("png", 31, 30), { app: "Firefox", title: "Docs" });
    await t.platform.drain();
    expect(decode).toHaveBeenCalledTimes(1);
    expect(put).toHaveBeenCalledTimes(3);
    expect(seen).toEqual([kept.id]);
    expect((await stored()).map((r) => r.id)).toEqual([kept.id]);
  });

  test("not retroactive: a retry of a screenshot stored before a rule answers 200 with what was stored", async () => {
    const png = await makeImage("png", 50, 20);
    const fields = { takenAt: "2026-01-05T09:05:00Z", app: "Excel", title: "Payroll March.xlsx" };
    const first = await uploaded(t, agent, png, fields);
    await rules([{ field: "title", pattern: "Payroll", action: "redact" }]);
    const retry = await upload(t, agent.auth, png, fields);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toMatchObject({ id: first.id, title: "Payroll March.xlsx" });
    await rules([{ field: "title", pattern: "Payroll", action: "drop" }]);
    expect((await upload(t, agent.auth, png, fields)).status).toBe(200);
    // A new capture of the same window is subject to the rule.
    expect((await upload(t, agent.auth, png, { ...fields, takenAt: "2026-01-05T09:06:00Z" })).status).toBe(
      204,
    );
    expect((await stored()).map((r) => r.id)).toEqual([first.id]);
  });

  test("a rule on a field the screenshot lacks never matches it (no url; app or title not sent)", async () => {
    await rules([
      { field: "url", pattern: "", action: "drop" }, // would match any url at all
      { field: "app", pattern: "", action: "drop" },
      { field: "title", pattern: "", action: "drop" },
    ]);
    const res = await upload(t, agent.auth, await makeImage("png", 20, 20));
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ app: null, title: null });
    expect((await upload(t, agent.auth, await makeImage("png", 21, 20), { title: "x" })).status).toBe(204);
    expect(await stored()).toHaveLength(1);
  });

  test("rules that cannot be read fail closed: every screenshot is dropped, with or without metadata", async () => {
    await setSettings(t, member.orgId, { privacyRules: "{not json" });
    const res = await upload(t, agent.auth, await makeImage("png", 20, 20), { app: "Figma", title: "x" });
    expect(res.status).toBe(204);
    expect((await upload(t, agent.auth, await makeImage("png", 21, 20))).status).toBe(204);
    expect(await stored()).toHaveLength(0);
  });
});

describe("POST /api/v1/ingest/screenshots: refusals", () => {
  test("a text file renamed .png (declared image/png) → 415 problem+json; nothing stored", async () => {
    const text = new TextEncoder().encode("just some notes, definitely not a picture\n".repeat(20));
    const res = await upload(t, agent.auth, text, { filename: "notes.png", type: "image/png" });
    expect(res.status).toBe(415);
    expect((await problem(res)).code).toBe("UNSUPPORTED_MEDIA_TYPE");
    // GIF and SVG are images, but not accepted ones.
    const gif = new Uint8Array(
      await sharp(await makeImage("png", 10, 10))
        .gif()
        .toBuffer(),
    );
    expect((await upload(t, agent.auth, gif, { filename: "x.png" })).status).toBe(415);
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>');
    expect((await upload(t, agent.auth, svg, { filename: "x.png" })).status).toBe(415);
    expect(await t.platform.db.select().from(screenshots)).toHaveLength(0);
  });

  test("truncated or corrupt PNG, JPEG and WebP files → 422 INVALID_IMAGE, never 500", async () => {
    for (const format of ["png", "jpeg", "webp"] as const) {
      const good = await makeImage(format, 640, 480);
      const truncated = good.slice(0, Math.floor(good.byteLength / 2));
      const garbled = good.slice();
      garbled.fill(0x41, 40, garbled.byteLength - 10);
      const headerOnly = good.slice(0, 16);
      for (const [name, bytes] of [
        ["truncated", truncated],
        ["garbled", garbled],
        ["header only", headerOnly],
      ] as const) {
        const res = await upload(t, agent.auth, bytes);
        expect(`${format} ${name}: ${res.status}`).toBe(`${format} ${name}: 422`);
        const body = await problem(res);
        expect(body.code).toBe("INVALID_IMAGE");
        expect(body.errors?.[0]?.path).toBe("file");
      }
    }
    expect(await t.platform.db.select().from(screenshots)).toHaveLength(0);
  });

  test("a body over 5 MiB → 413 problem+json; so is a file part over 5 MiB inside the envelope", async () => {
    const big = new Uint8Array(6 * 1024 * 1024);
    big.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const res = await upload(t, agent.auth, big);
    expect(res.status).toBe(413);
    expect((await problem(res)).code).toBe("PAYLOAD_TOO_LARGE");

    const justOver = new Uint8Array(SCREENSHOT_MAX_BYTES + 1);
    justOver.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const res2 = await upload(t, agent.auth, justOver);
    expect(res2.status).toBe(413);
    expect((await problem(res2)).code).toBe("PAYLOAD_TOO_LARGE");

    // A streamed body without Content-Length is cut off too.
    const form = new Response(uploadForm(big));
    const res3 = await t.app.request("/api/v1/ingest/screenshots", {
      method: "POST",
      headers: { ...agent.auth, "content-type": form.headers.get("content-type") as string },
      body: form.body,
      duplex: "half",
    } as RequestInit);
    expect(res3.status).toBe(413);
  });

  test("other routes keep the 1 MiB JSON limit and refuse multipart", async () => {
    const res = await t.app.request("/api/v1/agents", {
      method: "POST",
      headers: { ...member.auth, "content-type": "application/json" },
      body: JSON.stringify({ name: "x".repeat(2 * 1024 * 1024) }),
    });
    expect(res.status).toBe(413);
    const multipart = await t.app.request("/api/v1/agents", {
      method: "POST",
      headers: member.auth,
      body: uploadForm(await makeImage("png", 8, 8)),
    });
    expect(multipart.status).toBe(415);
  });

  test("only agent tokens: a signed-in session or a personal access token → 403, anonymous → 401", async () => {
    const png = await makeImage("png", 16, 16);
    expect((await upload(t, member.auth, png)).status).toBe(403);
    const admin = await seedMember(t, "admin", { orgId: member.orgId });
    expect((await upload(t, admin.auth, png)).status).toBe(403);
    const pat = await createPat(t, admin, { scopes: ["screenshots:write", "activity:write"] });
    const viaPat = await upload(t, { authorization: `Bearer ${pat.token}` }, png);
    expect(viaPat.status).toBe(403);
    expect((await problem(viaPat)).code).toBe("FORBIDDEN");
    expect((await upload(t, {}, png)).status).toBe(401);
    expect(await t.platform.db.select().from(screenshots)).toHaveLength(0);
  });

  test("bad form: JSON body → 415; missing file, unknown part, bad or future takenAt → 422 naming the field", async () => {
    const asJson = await t.app.request("/api/v1/ingest/screenshots", {
      method: "POST",
      headers: { ...agent.auth, "content-type": "application/json" },
      body: JSON.stringify({ file: "aGVsbG8=" }),
    });
    expect(asJson.status).toBe(415);
    expect((await problem(asJson)).code).toBe("UNSUPPORTED_MEDIA_TYPE");

    const png = await makeImage("png", 16, 16);
    const noFile = new FormData();
    noFile.set("app", "Figma");
    const cases: [FormData, string][] = [
      [noFile, "file"],
      [uploadForm(png, { extra: { memberId: "mem_someone_else" } }), "memberId"],
      [uploadForm(png, { takenAt: "yesterday" }), "takenAt"],
      [uploadForm(png, { takenAt: "2026-01-05T10:00:00Z" }), "takenAt"], // clock: 09:00Z
      [uploadForm(png, { title: "a\u0007b" }), "title"],
    ];
    const textFile = new FormData();
    textFile.set("file", "not a file part");
    cases.push([textFile, "file"]);
    for (const [form, field] of cases) {
      const res = await t.app.request("/api/v1/ingest/screenshots", {
        method: "POST",
        headers: agent.auth,
        body: form,
      });
      expect(`${field}: ${res.status}`).toBe(`${field}: 422`);
      const body = await problem(res);
      expect(body.errors?.map((e) => e.path)).toContain(field);
    }
    expect(await t.platform.db.select().from(screenshots)).toHaveLength(0);
  });

  test("without an image processor (as on Workers) → 501 problem+json, nothing stored", async () => {
    const { createBunPlatform } = await import("../../src/platform/bun");
    const { createApp } = await import("../../src/app");
    const { LogCapture, testConfig } = await import("../support/app");
    const platform = await createBunPlatform(testConfig(), {
      images: null,
      runtime: "memory",
      migrate: true,
      logDestination: new LogCapture(),
    });
    try {
      const app = createApp(platform);
      const shadow = { ...t, app: app.app, services: app.services, platform } as TestApp;
      const m = await seedMember(shadow, "member");
      const a = await agentFor(shadow, m);
      const res = await upload(shadow, a.auth, await makeImage("png", 16, 16));
      expect(res.status).toBe(501);
      expect((await problem(res)).code).toBe("IMAGE_PROCESSING_UNAVAILABLE");
      expect(await platform.db.select().from(screenshots)).toHaveLength(0);
    } finally {
      await platform.close();
    }
  });
});

describe("sniffImage", () => {
  test("reads PNG, JPEG and WebP signatures and nothing else", async () => {
    expect(sniffImage(await makeImage("png", 4, 4))).toBe("png");
    expect(sniffImage(await makeImage("jpeg", 4, 4))).toBe("jpeg");
    expect(sniffImage(await makeImage("webp", 4, 4))).toBe("webp");
    expect(sniffImage(new TextEncoder().encode("RIFF1234WAVEfmt "))).toBeNull();
    expect(sniffImage(new TextEncoder().encode("GIF89a"))).toBeNull();
    expect(sniffImage(new Uint8Array([0xff, 0xd8]))).toBeNull();
    expect(sniffImage(new Uint8Array())).toBeNull();
  });
});
