import { eq } from "drizzle-orm";
import sharp from "sharp";
import { screenshots } from "../../src/db/schema";
import type { TestApp } from "../support/app";
import type { SeededMember } from "../support/identity";
import { createAgent } from "../tokens/support";

/** A real image of `width`×`height` in `format`: gradients and blocks, compressible like a screen. */
export async function makeImage(
  format: "png" | "jpeg" | "webp",
  width: number,
  height: number,
  opts: { alpha?: boolean } = {},
): Promise<Uint8Array> {
  const channels = opts.alpha ? 4 : 3;
  const raw = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      raw[i] = (x * 255) / width;
      raw[i + 1] = (y * 255) / height;
      raw[i + 2] = ((x >> 6) + (y >> 6)) % 2 ? 200 : 40;
      if (opts.alpha) raw[i + 3] = x < width / 2 ? 0 : 255;
    }
  const img = sharp(raw, { raw: { width, height, channels } });
  const out = await (format === "png" ? img.png() : format === "jpeg" ? img.jpeg() : img.webp()).toBuffer();
  return new Uint8Array(out);
}

export interface Agent {
  token: string;
  id: string;
  auth: Record<string, string>;
}

/** Enrolls an agent for `m` and returns its bearer headers. */
export async function agentFor(t: TestApp, m: SeededMember): Promise<Agent> {
  const a = await createAgent(t, m, `device-${crypto.randomUUID().slice(0, 8)}`);
  return { token: a.token, id: a.id, auth: { authorization: `Bearer ${a.token}` } };
}

export interface UploadFields {
  filename?: string;
  type?: string;
  takenAt?: string;
  app?: string;
  title?: string;
  extra?: Record<string, string>;
}

export function uploadForm(bytes: Uint8Array, f: UploadFields = {}): FormData {
  const form = new FormData();
  form.set(
    "file",
    new File([bytes as BlobPart], f.filename ?? "screen.png", { type: f.type ?? "image/png" }),
  );
  if (f.takenAt) form.set("takenAt", f.takenAt);
  if (f.app) form.set("app", f.app);
  if (f.title) form.set("title", f.title);
  for (const [k, v] of Object.entries(f.extra ?? {})) form.set(k, v);
  return form;
}

export async function upload(
  t: TestApp,
  headers: Record<string, string>,
  bytes: Uint8Array,
  f: UploadFields = {},
): Promise<Response> {
  return t.app.request("/api/v1/ingest/screenshots", {
    method: "POST",
    headers,
    body: uploadForm(bytes, f),
  });
}

export interface ScreenshotBody {
  id: string;
  memberId: string;
  agentId: string | null;
  takenAt: string;
  createdAt: string;
  app: string | null;
  title: string | null;
  width: number;
  height: number;
  size: number;
  sha256: string;
  imageUrl: string;
  thumbnails: { small: string; medium: string };
}

/** Uploads and expects 201. */
export async function uploaded(
  t: TestApp,
  agent: Agent,
  bytes: Uint8Array,
  f: UploadFields = {},
): Promise<ScreenshotBody> {
  const res = await upload(t, agent.auth, bytes, f);
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
  return (await res.json()) as ScreenshotBody;
}

export async function rowOf(t: TestApp, id: string) {
  const [row] = await t.platform.db.select().from(screenshots).where(eq(screenshots.id, id));
  return row;
}

export const JPEG_MAGIC = [0xff, 0xd8, 0xff];
export const startsWith = (b: Uint8Array, magic: number[]) => magic.every((x, i) => b[i] === x);
