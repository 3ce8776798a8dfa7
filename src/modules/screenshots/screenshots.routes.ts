import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../http/context";
import { hasNoControlChars } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { AppError } from "../../lib/errors";
import { PageQuery } from "../../lib/pagination";
import { requirePermission } from "../auth/auth.middleware";
import { requireAgent } from "../tokens/tokens.guards";
import { SCREENSHOT_MAX_BYTES, THUMBNAIL_SIZES } from "./screenshots.service";

const tags = ["Screenshots"];
const EXAMPLE_ID = "scr_01jd0s4r9q8m6w2v3x4y5z6a7b";
const EXAMPLE_MEMBER = "mem_01jd0s4r9q8m6w2v3x4y5z6a7e";

/** Optional free text from the agent: trimmed, one line, empty means absent. */
const optionalText = (max: number, example: string) =>
  z
    .string()
    .trim()
    .max(max)
    .refine(hasNoControlChars, "must not contain control characters")
    .transform((s) => s || undefined)
    .optional()
    .openapi({ example });

export const UploadForm = z
  .strictObject({
    file: z
      .custom<Blob>((v) => v instanceof Blob, { message: "must be a file part" })
      .openapi({
        type: "string",
        format: "binary",
        description: `PNG, JPEG or WebP, at most ${SCREENSHOT_MAX_BYTES} bytes; the type is read from the content`,
      }),
    takenAt: z.string().datetime({ offset: true }).optional().openapi({
      description: "Capture time; defaults to the time of upload",
      example: "2026-01-05T09:12:00Z",
    }),
    app: optionalText(200, "Figma"),
    title: optionalText(1000, "Checkout flow – Figma"),
  })
  .openapi("ScreenshotUpload");

export const ScreenshotSchema = z
  .object({
    id: z.string().openapi({ example: EXAMPLE_ID }),
    memberId: z.string().openapi({ example: EXAMPLE_MEMBER }),
    agentId: z.string().nullable().openapi({ example: "tok_01jd0s4r9q8m6w2v3x4y5z6a7c" }),
    takenAt: z.string().datetime(),
    createdAt: z.string().datetime(),
    app: z.string().nullable().openapi({ example: "Figma" }),
    title: z.string().nullable().openapi({ example: "Checkout flow – Figma" }),
    width: z.number().int().openapi({ example: 1920, description: "Of the stored JPEG (≤ 1920)" }),
    height: z.number().int().openapi({ example: 1080, description: "Of the stored JPEG (≤ 1080)" }),
    size: z.number().int().openapi({ example: 284112, description: "Bytes of the stored JPEG" }),
    sha256: z.string().openapi({ example: "9f2c0a…", description: "SHA-256 (hex) of the stored JPEG" }),
    imageUrl: z.string().openapi({ example: `/api/v1/screenshots/${EXAMPLE_ID}/image` }),
    thumbnails: z.object({
      small: z.string().openapi({ example: `/api/v1/screenshots/${EXAMPLE_ID}/thumbnail?size=small` }),
      medium: z.string().openapi({ example: `/api/v1/screenshots/${EXAMPLE_ID}/thumbnail?size=medium` }),
    }),
  })
  .openapi("Screenshot");

export const ListScreenshotsQuery = PageQuery.extend({
  memberId: z.string().max(64).optional().openapi({
    description: "One member's screenshots (someone else's needs `screenshots:read_all`)",
    example: EXAMPLE_MEMBER,
  }),
  from: z
    .string()
    .datetime({ offset: true })
    .optional()
    .openapi({ description: "Captured at or after", example: "2026-01-05T00:00:00Z" }),
  to: z
    .string()
    .datetime({ offset: true })
    .optional()
    .openapi({ description: "Captured before", example: "2026-01-06T00:00:00Z" }),
});

const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: EXAMPLE_ID }),
});

const ThumbnailQuery = z.object({
  size: z
    .enum(THUMBNAIL_SIZES)
    .default("medium")
    .openapi({ description: "`small` 150×100, `medium` 300×200", example: "small" }),
});

const jpeg = (description: string) => ({
  description,
  content: { "image/jpeg": { schema: z.string().openapi({ type: "string", format: "binary" }) } },
});

/** 415 before the body is parsed: only multipart/form-data reaches the form validator. */
function requireMultipart(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!/^multipart\/form-data\s*;/i.test(c.req.header("content-type") ?? ""))
      throw new AppError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the screenshot as multipart/form-data", {
        headers: { "Accept-Post": "multipart/form-data" },
      });
    await next();
  };
}

export const uploadScreenshotRoute = createRoute({
  operationId: "uploadScreenshot",
  method: "post",
  path: "/api/v1/ingest/screenshots",
  tags,
  summary: "Upload a screenshot (agents)",
  description:
    "Agent tokens only. A multipart `file` (PNG, JPEG or WebP by magic bytes, ≤ 5 MiB) is stored as JPEG quality 80 within 1920×1080 (never enlarged) with 300×200 and 150×100 thumbnails (cropped to fill). A retry of the same file with the same `takenAt` returns the stored screenshot with 200. The organization's privacy rules (tracking settings) apply to `app` and `title` as to heartbeats: a `redact` match stores `[redacted]`, a `drop` match stores nothing — no image, no row, no event — and answers 204. Rules apply to new uploads: a retry of a screenshot stored before a rule existed still answers 200 with what was stored. Emits `screenshot.created`. Runtimes without image processing (Workers) answer 501.",
  security: bearerSecurity,
  middleware: [requireAgent(), requireMultipart()] as const,
  request: {
    body: {
      required: true,
      content: {
        "multipart/form-data": {
          schema: UploadForm,
          example: { takenAt: "2026-01-05T09:12:00Z", app: "Figma", title: "Checkout flow – Figma" },
        },
      },
    },
  },
  responses: {
    201: jsonContent(ScreenshotSchema, "Stored"),
    200: jsonContent(ScreenshotSchema, "Already stored (a retried upload)"),
    204: { description: "Dropped by a privacy rule of the organization: nothing was stored" },
    ...apiProblemResponses(401, 403, 409, 413, 415, 422, 501),
  },
});

export const listScreenshotsRoute = createRoute({
  operationId: "listScreenshots",
  method: "get",
  path: "/api/v1/screenshots",
  tags,
  summary: "List screenshots",
  description:
    "Newest capture first, with links to the thumbnails and the full image. Members see their own; admins and managers (`screenshots:read_all`) see everyone's unless `memberId` narrows, and such a listing is audited.",
  security: bearerSecurity,
  middleware: [requirePermission("activity:read")] as const,
  request: { query: ListScreenshotsQuery },
  responses: {
    200: jsonContent(
      z
        .object({ data: z.array(ScreenshotSchema), nextCursor: z.string().nullable() })
        .openapi("ScreenshotPage"),
      "Screenshots",
    ),
    ...apiProblemResponses(401, 403, 404, 422),
  },
});

export const getScreenshotRoute = createRoute({
  operationId: "getScreenshot",
  method: "get",
  path: "/api/v1/screenshots/{id}",
  tags,
  summary: "A screenshot's details",
  description:
    "Metadata and links. Your own, or anyone's in your organization with `screenshots:read_all`; anything else is 404.",
  security: bearerSecurity,
  middleware: [requirePermission("activity:read")] as const,
  request: { params: IdParam },
  responses: { 200: jsonContent(ScreenshotSchema, "The screenshot"), ...apiProblemResponses(401, 403, 404) },
});

export const getScreenshotImageRoute = createRoute({
  operationId: "getScreenshotImage",
  method: "get",
  path: "/api/v1/screenshots/{id}/image",
  tags,
  summary: "The full screenshot",
  description:
    "The stored JPEG, only through this route (`Cache-Control: private, no-store`). Your own, or anyone's in your organization with `screenshots:read_all`; each view of another member's screenshot is audited (`screenshot.viewed`). Anything else is 404.",
  security: bearerSecurity,
  middleware: [requirePermission("activity:read")] as const,
  request: { params: IdParam },
  responses: { 200: jpeg("The JPEG image"), ...apiProblemResponses(401, 403, 404) },
});

export const getScreenshotThumbnailRoute = createRoute({
  operationId: "getScreenshotThumbnail",
  method: "get",
  path: "/api/v1/screenshots/{id}/thumbnail",
  tags,
  summary: "A screenshot thumbnail",
  description:
    "`small` (150×100) or `medium` (300×200) JPEG, with the same access rule as the full image. Thumbnails are not audited one by one: the listing that links to them is.",
  security: bearerSecurity,
  middleware: [requirePermission("activity:read")] as const,
  request: { params: IdParam, query: ThumbnailQuery },
  responses: { 200: jpeg("The JPEG thumbnail"), ...apiProblemResponses(401, 403, 404, 422) },
});

export const deleteScreenshotRoute = createRoute({
  operationId: "deleteScreenshot",
  method: "delete",
  path: "/api/v1/screenshots/{id}",
  tags,
  summary: "Delete a screenshot",
  description:
    "Deletes the screenshot and its images. Your own, or any in your organization for admins (audited). Managers may view but not delete others' screenshots (403); a screenshot you cannot see is 404.",
  security: bearerSecurity,
  middleware: [requirePermission("own:write")] as const,
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...apiProblemResponses(401, 403, 404) },
});
