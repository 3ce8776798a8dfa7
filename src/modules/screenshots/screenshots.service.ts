import type { Db } from "../../db/client";
import type { EventBus } from "../../events/bus";
import { MIN_INSTANT } from "../../http/fields";
import { randomBase62, sha256Hex } from "../../lib/crypto";
import { AppError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import type { BlobStore } from "../../ports/blob";
import type { Clock } from "../../ports/clock";
import {
  ImageInputError,
  ImageProcessingUnavailableError,
  type ImageProcessor,
  type ImageSpec,
} from "../../ports/images";
import type { Logger } from "../../ports/platform";
import { applyPrivacy, compileRules } from "../activity/privacy";
import type { AuditService } from "../audit/audit.service";
import type { AuditActor } from "../orgs/orgs.model";
import { findMembershipId, memberExists } from "../orgs/orgs.repo";
import { findSettings } from "../tracking-settings/tracking-settings.repo";
import { type ScreenshotView, sniffImage, toScreenshotView } from "./screenshots.model";
import type { ScreenshotCursor, ScreenshotRow } from "./screenshots.repo";
import * as repo from "./screenshots.repo";

/** Largest accepted upload (the file part), fixed by the spec. */
export const SCREENSHOT_MAX_BYTES = 5 * 1024 * 1024;
/** Room for the multipart envelope and the small text fields around a maximal file part. */
export const SCREENSHOT_BODY_LIMIT = SCREENSHOT_MAX_BYTES + 64 * 1024;
export const SCREENSHOT_UPLOAD_PATH = "/api/v1/ingest/screenshots";
/** A capture time this far ahead of the server clock is refused (agents' clocks drift a little). */
const MAX_FUTURE_SKEW_MS = 10 * 60_000;

/** SPEC 3: JPEG q80 within 1920×1080, thumbnails 300×200 ("medium") and 150×100 ("small"). */
export const SCREENSHOT_SPEC: ImageSpec = {
  maxWidth: 1920,
  maxHeight: 1080,
  quality: 80,
  thumbnails: { medium: { width: 300, height: 200 }, small: { width: 150, height: 100 } },
};

export const THUMBNAIL_SIZES = ["small", "medium"] as const;
export type ThumbnailSize = (typeof THUMBNAIL_SIZES)[number];

export interface ScreenshotDeps {
  db: Db;
  clock: Clock;
  blobs: BlobStore;
  images: ImageProcessor | null;
  events: EventBus;
  audit: AuditService;
  logger: Logger;
}

/** The member looking at screenshots, and whether they may see everyone's. */
export interface Viewer {
  orgId: string;
  userId: string;
  memberId: string;
  readAll: boolean;
}

function fieldError(path: string, message: string, code: string) {
  return new AppError(422, "VALIDATION_FAILED", `Invalid ${path}`, { errors: [{ path, message, code }] });
}

export interface UploadInput {
  bytes: Uint8Array;
  takenAt?: Date;
  app?: string | null;
  title?: string | null;
}

/** What an upload came to: stored now, stored before (a retry), or dropped by a privacy rule. */
export type UploadOutcome =
  | { view: ScreenshotView; created: boolean; dropped?: never }
  | { dropped: true; view?: never; created?: never };

/**
 * Stores an agent's screenshot: checks the type by magic bytes, applies the organization's privacy
 * rules to its `app` and `title` (a `drop` match stores nothing at all, not even the image; a
 * `redact` match stores `[redacted]`; rules apply to new uploads, not to screenshots already
 * stored), converts it, writes the three blobs under fresh random keys,
 * then the row and the `screenshot.created` outbox rows in one batch. If the batch fails the blobs
 * are removed again. A retry of an already stored upload returns that one.
 */
export async function uploadScreenshot(
  deps: ScreenshotDeps,
  agent: { orgId: string; userId: string; tokenId: string },
  input: UploadInput,
): Promise<UploadOutcome> {
  const { db, clock, blobs, events } = deps;
  if (input.bytes.byteLength > SCREENSHOT_MAX_BYTES)
    throw new AppError(413, "PAYLOAD_TOO_LARGE", `The file exceeds ${SCREENSHOT_MAX_BYTES} bytes`);
  if (input.bytes.byteLength === 0) throw fieldError("file", "is empty", "empty_file");
  const format = sniffImage(input.bytes);
  if (!format)
    throw new AppError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      "The file is not a PNG, JPEG or WebP image (the type is read from its content, not its name)",
      { headers: { "Accept-Post": "multipart/form-data" } },
    );
  const now = clock.now();
  const takenAt = input.takenAt ?? now;
  if (takenAt.getTime() > now.getTime() + MAX_FUTURE_SKEW_MS)
    throw fieldError("takenAt", "is in the future", "future_time");
  // As heartbeats and entries: an agent whose clock was reset would otherwise file its screenshots
  // decades back, at the far end of every listing.
  if (takenAt.getTime() < MIN_INSTANT) throw fieldError("takenAt", "must be after 2000-01-01", "too_small");

  const memberId = await findMembershipId(db, agent.orgId, agent.userId);
  if (!memberId) throw new AppError(403, "FORBIDDEN", "The agent's member is no longer in this organization");
  const sourceSha256 = await sha256Hex(input.bytes);
  const existing = await repo.findBySource(db, agent.orgId, memberId, sourceSha256, takenAt);
  if (existing) return { view: toScreenshotView(existing), created: false };

  if (!deps.images) throw unavailable();
  // The same rules as for heartbeats, before the image is decoded or anything is stored. A retry
  // of an upload stored before a rule existed got its answer above: rules are not retroactive.
  const settings = await findSettings(db, agent.orgId);
  const meta = applyPrivacy(
    { app: input.app ?? null, title: input.title ?? null, url: null },
    compileRules(settings?.privacyRules),
  );
  if (!meta) return { dropped: true };
  let processed: Awaited<ReturnType<ImageProcessor["process"]>>;
  try {
    processed = await deps.images.process(input.bytes, format, SCREENSHOT_SPEC);
  } catch (err) {
    if (err instanceof ImageInputError) {
      const tooBig = err.reason === "too_many_pixels";
      throw new AppError(
        422,
        tooBig ? "IMAGE_TOO_LARGE" : "INVALID_IMAGE",
        tooBig
          ? "The image has too many pixels"
          : `The file starts like a ${format.toUpperCase()} image but cannot be decoded (corrupt or truncated)`,
        {
          errors: [
            {
              path: "file",
              message: tooBig ? "too many pixels" : "cannot be decoded",
              code: "invalid_image",
            },
          ],
        },
      );
    }
    if (err instanceof ImageProcessingUnavailableError) {
      deps.logger.error({ err }, "image processing unavailable");
      throw unavailable();
    }
    throw err;
  }
  const medium = processed.thumbnails.medium;
  const small = processed.thumbnails.small;
  if (!medium || !small) throw new Error("image processor returned no thumbnails");

  // ≥ 128 bits of randomness (32 base62 chars ≈ 190 bits), behind the organization's prefix.
  const stem = `${agent.orgId}/screenshots/${randomBase62(32)}`;
  const row: repo.NewScreenshotRow = {
    id: newId("screenshot", now),
    orgId: agent.orgId,
    memberId,
    agentId: agent.tokenId,
    takenAt,
    app: meta.app,
    title: meta.title,
    size: processed.full.bytes.byteLength,
    width: processed.full.width,
    height: processed.full.height,
    sha256: await sha256Hex(processed.full.bytes),
    sourceFormat: format,
    sourceSize: input.bytes.byteLength,
    sourceSha256,
    imageKey: `${stem}.jpg`,
    mediumKey: `${stem}_m.jpg`,
    smallKey: `${stem}_s.jpg`,
    createdAt: now,
  };
  const keys = [row.imageKey, row.mediumKey, row.smallKey];
  // After a failed upload: what the store does not remove now is queued for the deletion job.
  const removeBlobs = async () => {
    const results = await Promise.allSettled(keys.map((k) => blobs.delete(k)));
    const failed = keys.filter((_, i) => results[i]?.status === "rejected");
    if (!failed.length) return;
    deps.logger.warn({ keys, failed: failed.length }, "could not remove screenshot blobs; queued");
    await repo.queueBlobDeletions(db, failed, deps.clock.now());
  };

  const event = events.create(
    "screenshot.created",
    {
      screenshotId: row.id,
      memberId,
      takenAt: takenAt.toISOString(),
      width: row.width,
      height: row.height,
      size: row.size,
    },
    { orgId: agent.orgId, actor: agent.tokenId },
  );
  try {
    // Every write settles before any is judged: one failing must not leave the others to land
    // after the clean-up below, as objects no row refers to.
    const writes = await Promise.allSettled([
      blobs.put(row.imageKey, processed.full.bytes, { contentType: "image/jpeg" }),
      blobs.put(row.mediumKey, medium.bytes, { contentType: "image/jpeg" }),
      blobs.put(row.smallKey, small.bytes, { contentType: "image/jpeg" }),
    ]);
    for (const w of writes) if (w.status === "rejected") throw w.reason;
    await db.batch([repo.insertScreenshot(db, row), ...events.record(event)]);
  } catch (err) {
    await removeBlobs();
    // A concurrent identical upload won the unique index (and the batch, event included, rolled back).
    const winner = isUniqueViolation(err)
      ? await repo.findBySource(db, agent.orgId, memberId, sourceSha256, takenAt)
      : null;
    if (winner) return { view: toScreenshotView(winner), created: false };
    throw err;
  }
  events.publish(event);
  return { view: toScreenshotView(row as ScreenshotRow), created: true };
}

function isUniqueViolation(err: unknown): boolean {
  for (let e = err as { message?: string; cause?: unknown } | undefined, i = 0; e && i < 4; i++) {
    if (/UNIQUE constraint failed/i.test(e.message ?? "")) return true;
    e = e.cause as typeof e;
  }
  return false;
}

function unavailable(): AppError {
  return new AppError(
    501,
    "IMAGE_PROCESSING_UNAVAILABLE",
    "Screenshot upload needs image processing, which this runtime does not provide; send screenshots to a Bun/Docker deployment",
  );
}

/** The caller as a member of their organization (their membership id), with their reach. */
export async function viewerOf(
  deps: Pick<ScreenshotDeps, "db">,
  p: { orgId: string; userId: string },
  readAll: boolean,
): Promise<Viewer> {
  const memberId = await findMembershipId(deps.db, p.orgId, p.userId);
  if (!memberId) throw new AppError(403, "FORBIDDEN", "You are not a member of this organization");
  return { orgId: p.orgId, userId: p.userId, memberId, readAll };
}

/**
 * A page of screenshots. Without `screenshots:read_all` only your own (asking for another member is
 * 403); with it, everyone's unless `memberId` narrows. A page that shows other members' screenshots
 * is audited once (`screenshot.listed`).
 */
export async function listForViewer(
  deps: ScreenshotDeps,
  viewer: Viewer,
  q: { memberId?: string; from?: Date; to?: Date; limit: number; cursor?: ScreenshotCursor },
  actor: AuditActor,
): Promise<ScreenshotRow[]> {
  if (q.from && q.to && q.from.getTime() >= q.to.getTime())
    throw fieldError("to", "must be after `from`", "invalid_range");
  let memberId = q.memberId;
  if (memberId && memberId !== viewer.memberId) {
    if (!(await memberExists(deps.db, viewer.orgId, memberId)))
      throw new AppError(404, "NOT_FOUND", "No such member");
    if (!viewer.readAll)
      throw new AppError(403, "FORBIDDEN", "Only managers and admins may see other members' screenshots");
  }
  if (!viewer.readAll) memberId = viewer.memberId;
  const rows = await repo.listScreenshots(deps.db, viewer.orgId, { ...q, memberId });
  const others = rows.slice(0, q.limit).filter((r) => r.memberId !== viewer.memberId);
  if (others.length)
    await deps.audit.record({
      ...actor,
      orgId: viewer.orgId,
      action: "screenshot.listed",
      targetType: "member",
      targetId: memberId ?? null,
      metadata: {
        screenshots: others.length,
        members: [...new Set(others.map((r) => r.memberId))].slice(0, 50),
      },
    });
  return rows;
}

/** A screenshot the viewer may see; someone else's without `screenshots:read_all` is 404, like another org's. */
export async function getForViewer(deps: ScreenshotDeps, viewer: Viewer, id: string): Promise<ScreenshotRow> {
  const row = await repo.findScreenshot(deps.db, viewer.orgId, id);
  if (!row || (row.memberId !== viewer.memberId && !viewer.readAll))
    throw new AppError(404, "NOT_FOUND", "No such screenshot");
  return row;
}

/**
 * The full image or a thumbnail. Every view of another member's full image is audited before the
 * bytes are served (`screenshot.viewed`); thumbnails are not (a page of them is audited as a listing).
 */
export async function readImage(
  deps: ScreenshotDeps,
  viewer: Viewer,
  id: string,
  variant: "full" | ThumbnailSize,
  actor: AuditActor,
): Promise<{ row: ScreenshotRow; body: Uint8Array }> {
  const row = await getForViewer(deps, viewer, id);
  const key = variant === "full" ? row.imageKey : variant === "medium" ? row.mediumKey : row.smallKey;
  const blob = await deps.blobs.get(key);
  if (!blob) {
    deps.logger.error({ screenshotId: row.id, variant }, "screenshot blob missing");
    throw new AppError(404, "NOT_FOUND", "The image of this screenshot is no longer stored");
  }
  if (variant === "full" && row.memberId !== viewer.memberId)
    await deps.audit.record({
      ...actor,
      orgId: viewer.orgId,
      action: "screenshot.viewed",
      targetType: "screenshot",
      targetId: row.id,
      metadata: { memberId: row.memberId, takenAt: row.takenAt.toISOString() },
    });
  return { row, body: blob.body };
}

/**
 * Deletes a screenshot and its blobs: your own, or anyone's in the organization with
 * `canDeleteOthers` (admins). Audited when it is not your own.
 */
export async function deleteForViewer(
  deps: ScreenshotDeps,
  viewer: Viewer & { canDeleteOthers: boolean },
  id: string,
  actor: AuditActor,
): Promise<void> {
  const row = await getForViewer(deps, viewer, id);
  const own = row.memberId === viewer.memberId;
  if (!own && !viewer.canDeleteOthers)
    throw new AppError(403, "FORBIDDEN", "Only admins may delete other members' screenshots");
  if (!(await repo.deleteScreenshot(deps.db, viewer.orgId, id)))
    throw new AppError(404, "NOT_FOUND", "No such screenshot");
  // The row is gone first (its delete queued the three objects: blob_deletions), so a blob left behind
  // is unreachable, never half-served. They go now; what the store refuses, the job retries.
  const keys = [row.imageKey, row.mediumKey, row.smallKey];
  const results = await Promise.allSettled(keys.map((k) => deps.blobs.delete(k)));
  await repo.unqueueBlobDeletions(
    deps.db,
    keys.filter((_, i) => results[i]?.status === "fulfilled"),
  );
  if (results.some((r) => r.status === "rejected"))
    deps.logger.warn({ screenshotId: id }, "could not remove every blob of a deleted screenshot; queued");
  if (!own)
    await deps.audit.record({
      ...actor,
      orgId: viewer.orgId,
      action: "screenshot.deleted",
      targetType: "screenshot",
      targetId: id,
      metadata: { memberId: row.memberId, takenAt: row.takenAt.toISOString() },
    });
  await deps.events.emit(
    deps.events.create(
      "screenshot.deleted",
      { screenshotId: id, memberId: row.memberId },
      { orgId: viewer.orgId, actor: viewer.userId },
    ),
  );
}
