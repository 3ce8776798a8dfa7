import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import sharp from "sharp";
import { xxh3Hex } from "../../src/adapters/digest/xxh3";
import { auditLog, screenshots } from "../../src/db/schema";
import { createTestApp, type TestApp } from "../support/app";
import { membershipId, type SeededMember, seedMember } from "../support/identity";
import { createPat } from "../tokens/support";
import {
  type Agent,
  agentFor,
  JPEG_MAGIC,
  makeImage,
  rowOf,
  type ScreenshotBody,
  startsWith,
  uploaded,
} from "./support";

let t: TestApp;
let admin: SeededMember;
let manager: SeededMember;
let member: SeededMember;
let other: SeededMember;
let viewer: SeededMember;
let memberAgent: Agent;
let otherAgent: Agent;

beforeEach(async () => {
  t = await createTestApp();
  admin = await seedMember(t, "admin");
  manager = await seedMember(t, "manager", { orgId: admin.orgId });
  member = await seedMember(t, "member", { orgId: admin.orgId });
  other = await seedMember(t, "member", { orgId: admin.orgId });
  viewer = await seedMember(t, "viewer", { orgId: admin.orgId });
  memberAgent = await agentFor(t, member);
  otherAgent = await agentFor(t, other);
});
afterEach(() => t.close());

const get = (path: string, who: { auth: Record<string, string> } | Record<string, string>) =>
  t.app.request(path, { headers: "auth" in who ? (who.auth as Record<string, string>) : who });
const del = (path: string, who: SeededMember) => t.app.request(path, { method: "DELETE", headers: who.auth });

interface Page {
  data: ScreenshotBody[];
  nextCursor: string | null;
}
const list = async (who: SeededMember, query = "") => {
  const res = await get(`/api/v1/screenshots${query}`, who);
  expect(res.status).toBe(200);
  return { res, page: (await res.json()) as Page };
};

const auditRows = (action: string) =>
  t.platform.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.orgId, admin.orgId), eq(auditLog.action, action)));

/** `n` screenshots by `agent`, one minute apart from 08:00Z. */
async function shots(agent: Agent, n: number, startMinute = 0): Promise<ScreenshotBody[]> {
  const out: ScreenshotBody[] = [];
  for (let i = 0; i < n; i++) {
    const minute = String(startMinute + i).padStart(2, "0");
    out.push(
      await uploaded(t, agent, await makeImage("png", 64 + i + startMinute, 48), {
        takenAt: `2026-01-05T08:${minute}:00Z`,
      }),
    );
  }
  return out;
}

describe("GET /api/v1/screenshots", () => {
  test("a member sees only their own; asking for another member is 403; managers and admins see everyone's", async () => {
    const mine = await shots(memberAgent, 2);
    const theirs = await shots(otherAgent, 1, 10);
    const memberId = await membershipId(t, member);
    const otherId = await membershipId(t, other);

    const own = (await list(member)).page;
    expect(own.data.map((s): string | undefined => s.id)).toEqual([mine[1]?.id, mine[0]?.id]);
    expect(own.data.every((s) => s.memberId === memberId)).toBe(true);
    expect((await list(member, `?memberId=${memberId}`)).page.data).toHaveLength(2);
    const refused = await get(`/api/v1/screenshots?memberId=${otherId}`, member);
    expect(refused.status).toBe(403);
    expect((await list(viewer)).page.data).toEqual([]);

    for (const boss of [manager, admin]) {
      const all = (await list(boss)).page;
      expect(all.data.map((s): string | undefined => s.id)).toEqual([
        theirs[0]?.id,
        mine[1]?.id,
        mine[0]?.id,
      ]);
      const one = (await list(boss, `?memberId=${otherId}`)).page;
      expect(one.data.map((s): string | undefined => s.id)).toEqual([theirs[0]?.id]);
    }
    // Each listing showing other members' screenshots is audited once, not per item.
    const listed = await auditRows("screenshot.listed");
    expect(listed).toHaveLength(4);
    expect(listed.map((r) => r.actorId).sort()).toEqual(
      [admin.userId, admin.userId, manager.userId, manager.userId].sort(),
    );
    // A member's own listing is not.
    expect(listed.some((r) => r.actorId === member.userId)).toBe(false);
  });

  test("cursor pagination newest first with a Link header; from/to filter on capture time", async () => {
    const made = await shots(memberAgent, 5);
    const first = await list(member, "?limit=2");
    expect(first.page.data.map((s): string | undefined => s.id)).toEqual([made[4]?.id, made[3]?.id]);
    expect(first.page.nextCursor).toBeString();
    expect(first.res.headers.get("link")).toContain('rel="next"');
    const second = await list(member, `?limit=2&cursor=${first.page.nextCursor}`);
    expect(second.page.data.map((s): string | undefined => s.id)).toEqual([made[2]?.id, made[1]?.id]);
    const third = await list(member, `?limit=2&cursor=${second.page.nextCursor}`);
    expect(third.page.data.map((s): string | undefined => s.id)).toEqual([made[0]?.id]);
    expect(third.page.nextCursor).toBeNull();

    const ranged = await list(member, "?from=2026-01-05T08:01:00Z&to=2026-01-05T08:03:00Z");
    expect(ranged.page.data.map((s): string | undefined => s.id)).toEqual([made[2]?.id, made[1]?.id]);

    for (const q of [
      "?from=2026-01-05T09:00:00Z&to=2026-01-05T08:00:00Z",
      "?from=monday",
      "?cursor=bogus",
      "?limit=0",
    ]) {
      const res = await get(`/api/v1/screenshots${q}`, member);
      expect(`${q} → ${res.status}`).toBe(`${q} → 422`);
    }
  });

  test("another organization's member id → 404, and its screenshots never appear", async () => {
    const b = await seedMember(t, "member");
    const bShot = (await shots(await agentFor(t, b), 1))[0] as ScreenshotBody;
    const res = await get(`/api/v1/screenshots?memberId=${bShot.memberId}`, admin);
    expect(res.status).toBe(404);
    expect((await list(admin)).page.data.map((s): string | undefined => s.id)).not.toContain(bShot.id);
  });
});

describe("GET /api/v1/screenshots/{id}/image and /thumbnail", () => {
  test("serves the stored JPEG privately with the right Content-Type and Content-Length", async () => {
    const [shot] = await shots(memberAgent, 1);
    const res = await get(shot?.imageUrl as string, member);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(res.headers.get("cache-control")).toBe("private, no-store");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const body = new Uint8Array(await res.arrayBuffer());
    expect(res.headers.get("content-length")).toBe(String(body.byteLength));
    expect(body.byteLength).toBe(shot?.size as number);
    expect(startsWith(body, JPEG_MAGIC)).toBe(true);
    // Tagged from the bytes served; a revalidation with the tag costs no image.
    const tag = `"${xxh3Hex(body)}"`;
    expect(res.headers.get("etag")).toBe(tag);
    const again = await t.app.request(shot?.imageUrl as string, {
      headers: { ...member.auth, "if-none-match": tag },
    });
    expect(again.status).toBe(304);
    expect((await again.arrayBuffer()).byteLength).toBe(0);

    for (const [size, w, h] of [
      ["small", 150, 100],
      ["medium", 300, 200],
    ] as const) {
      const thumb = await get(shot?.thumbnails[size] as string, member);
      expect(thumb.status).toBe(200);
      expect(thumb.headers.get("content-type")).toBe("image/jpeg");
      expect(thumb.headers.get("cache-control")).toBe("private, no-store");
      const meta = await sharp(new Uint8Array(await thumb.arrayBuffer())).metadata();
      expect([meta.width, meta.height]).toEqual([w, h]);
    }
    const bad = await get(`/api/v1/screenshots/${shot?.id}/thumbnail?size=huge`, member);
    expect(bad.status).toBe(422);
    // Your own views are not audited.
    expect(await auditRows("screenshot.viewed")).toHaveLength(0);
  });

  test("a manager's or admin's view of someone else's screenshot is audited before it is served", async () => {
    const [shot] = await shots(memberAgent, 1);
    const res = await t.app.request(shot?.imageUrl as string, {
      headers: { ...manager.auth, "user-agent": "ManagerBrowser/1.0", "x-request-id": "view-req-1" },
    });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(shot?.size as number);
    expect((await get(shot?.imageUrl as string, admin)).status).toBe(200);
    const rows = await auditRows("screenshot.viewed");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      actorType: "user",
      actorId: manager.userId,
      targetType: "screenshot",
      targetId: shot?.id,
      userAgent: "ManagerBrowser/1.0",
      requestId: "view-req-1",
    });
    expect(JSON.parse(rows[0]?.metadata as string)).toEqual({
      memberId: shot?.memberId,
      takenAt: shot?.takenAt,
    });
    expect(rows[1]?.actorId).toBe(admin.userId);
    // The audit chain stays valid.
    const verify = await get("/api/v1/audit/verify", admin);
    expect(verify.status).toBe(200);
  });

  test("a member cannot see another member's screenshot (404, like a missing one); a viewer neither", async () => {
    const [shot] = await shots(otherAgent, 1);
    for (const who of [member, viewer]) {
      for (const path of [`/api/v1/screenshots/${shot?.id}`, shot?.imageUrl, shot?.thumbnails.small]) {
        const res = await get(path as string, who);
        expect(`${path} → ${res.status}`).toBe(`${path} → 404`);
      }
    }
    expect((await get(`/api/v1/screenshots/scr_${"0".repeat(26)}/image`, admin)).status).toBe(404);
    expect(await auditRows("screenshot.viewed")).toHaveLength(0);
  });

  test("tokens: a PAT needs activity:read, and screenshots:read for others' screenshots; an agent token is refused", async () => {
    const [shot] = await shots(memberAgent, 1);
    const narrow = await createPat(t, manager, { scopes: ["activity:read"] });
    const wide = await createPat(t, manager, { scopes: ["activity:read", "screenshots:read"] });
    const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });
    expect((await get(shot?.imageUrl as string, bearer(narrow.token))).status).toBe(404);
    expect((await get(shot?.imageUrl as string, bearer(wide.token))).status).toBe(200);
    expect((await get("/api/v1/screenshots", bearer(memberAgent.token))).status).toBe(403);
    expect((await get(shot?.imageUrl as string, bearer(memberAgent.token))).status).toBe(403);
  });
});

describe("DELETE /api/v1/screenshots/{id}", () => {
  test("own: 204, row and every blob gone, not audited", async () => {
    const [shot] = await shots(memberAgent, 1);
    const row = await rowOf(t, shot?.id as string);
    const res = await del(`/api/v1/screenshots/${shot?.id}`, member);
    expect(res.status).toBe(204);
    expect(await rowOf(t, shot?.id as string)).toBeUndefined();
    for (const k of [row?.imageKey, row?.mediumKey, row?.smallKey])
      expect(await t.platform.blobs.get(k as string)).toBeNull();
    expect((await get(shot?.imageUrl as string, member)).status).toBe(404);
    expect(await auditRows("screenshot.deleted")).toHaveLength(0);
    expect((await del(`/api/v1/screenshots/${shot?.id}`, member)).status).toBe(404);
  });

  test("someone else's: admin 204 (audited); manager 403; another member 404; data intact when refused", async () => {
    const [shot] = await shots(otherAgent, 1);
    const path = `/api/v1/screenshots/${shot?.id}`;
    expect((await del(path, manager)).status).toBe(403);
    expect((await del(path, member)).status).toBe(404);
    expect((await del(path, viewer)).status).toBe(403);
    const row = await rowOf(t, shot?.id as string);
    expect(row).toBeDefined();
    expect(await t.platform.blobs.get(row?.imageKey as string)).not.toBeNull();

    expect((await del(path, admin)).status).toBe(204);
    expect(
      await t.platform.db
        .select()
        .from(screenshots)
        .where(eq(screenshots.id, shot?.id as string)),
    ).toHaveLength(0);
    expect(await t.platform.blobs.get(row?.imageKey as string)).toBeNull();
    const audited = await auditRows("screenshot.deleted");
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ actorId: admin.userId, targetId: shot?.id });
  });

  test("another organization's admin gets 404 for detail, image, thumbnail and delete; nothing changes", async () => {
    const [shot] = await shots(memberAgent, 1);
    const outsider = await seedMember(t, "admin");
    for (const path of [`/api/v1/screenshots/${shot?.id}`, shot?.imageUrl, shot?.thumbnails.medium]) {
      const res = await get(path as string, outsider);
      expect(`${path} → ${res.status}`).toBe(`${path} → 404`);
    }
    expect((await del(`/api/v1/screenshots/${shot?.id}`, outsider)).status).toBe(404);
    const row = await rowOf(t, shot?.id as string);
    expect(row).toBeDefined();
    expect(await t.platform.blobs.get(row?.imageKey as string)).not.toBeNull();
    expect((await list(outsider)).page.data).toEqual([]);
  });
});
