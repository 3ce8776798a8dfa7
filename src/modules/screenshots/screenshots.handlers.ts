import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { CursorInstant, decodeCursor, nextLink, pageOf } from "../../lib/pagination";
import { auditContext } from "../audit/audit.service";
import { allows, orgMember } from "../tokens/tokens.guards";
import { toScreenshotView } from "./screenshots.model";
import {
  deleteScreenshotRoute,
  getScreenshotImageRoute,
  getScreenshotRoute,
  getScreenshotThumbnailRoute,
  listScreenshotsRoute,
  uploadScreenshotRoute,
} from "./screenshots.routes";
import * as service from "./screenshots.service";

const Cursor = z.object({ t: CursorInstant, i: z.string().max(64) });

function deps(c: Context<AppEnv>): service.ScreenshotDeps {
  const { db, clock, blobs, images, logger } = c.get("platform");
  const { events, audit } = c.get("services");
  return { db, clock, blobs, images, events, audit, logger };
}

/** The caller as a viewer of screenshots; `screenshots:read_all` (role and, for tokens, scope) widens it. */
function viewer(c: Context<AppEnv>) {
  const p = orgMember(c);
  return service.viewerOf(deps(c), p, allows(p, "screenshots:read_all", "GET"));
}

function image(c: Context<AppEnv>, body: Uint8Array): Response {
  return c.body(body as Uint8Array<ArrayBuffer>, {
    status: 200,
    headers: {
      "Content-Type": "image/jpeg",
      "Content-Length": String(body.byteLength),
      // Private data: never in a shared or browser cache (SPEC 1), and never reinterpreted.
      "Cache-Control": "private, no-store",
      "Content-Disposition": "inline",
    },
  });
}

/** Screenshot ingest (agents) and viewing (members, managers, admins). */
export function registerScreenshots(app: Router): void {
  app.openapi(uploadScreenshotRoute, async (c) => {
    const p = orgMember(c);
    if (p.kind !== "agent") throw new Error("unreachable: requireAgent");
    const form = c.req.valid("form");
    const outcome = await service.uploadScreenshot(
      deps(c),
      { orgId: p.orgId, userId: p.userId, tokenId: p.tokenId },
      {
        bytes: new Uint8Array(await form.file.arrayBuffer()),
        takenAt: form.takenAt ? new Date(form.takenAt) : undefined,
        app: form.app,
        title: form.title,
      },
    );
    if (outcome.dropped) return c.body(null, 204);
    const { view, created } = outcome;
    if (created) c.header("Location", `/api/v1/screenshots/${view.id}`);
    return c.json(view, created ? 201 : 200);
  });

  app.openapi(listScreenshotsRoute, async (c) => {
    const q = c.req.valid("query");
    const cursor = q.cursor ? decodeCursor(q.cursor, Cursor) : undefined;
    const rows = await service.listForViewer(
      deps(c),
      await viewer(c),
      {
        memberId: q.memberId,
        from: q.from ? new Date(q.from) : undefined,
        to: q.to ? new Date(q.to) : undefined,
        limit: q.limit,
        cursor: cursor && { takenAt: cursor.t, id: cursor.i },
      },
      auditContext(c),
    );
    const page = pageOf(rows, q.limit, (r) => ({ t: r.takenAt.getTime(), i: r.id }));
    const link = nextLink(c.req.url, page.nextCursor);
    if (link) c.header("Link", link);
    return c.json({ data: page.data.map(toScreenshotView), nextCursor: page.nextCursor }, 200);
  });

  app.openapi(getScreenshotRoute, async (c) => {
    const row = await service.getForViewer(deps(c), await viewer(c), c.req.valid("param").id);
    return c.json(toScreenshotView(row), 200);
  });

  app.openapi(getScreenshotImageRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { body } = await service.readImage(deps(c), await viewer(c), id, "full", auditContext(c));
    return image(c, body);
  });

  app.openapi(getScreenshotThumbnailRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { size } = c.req.valid("query");
    const { body } = await service.readImage(deps(c), await viewer(c), id, size, auditContext(c));
    return image(c, body);
  });

  app.openapi(deleteScreenshotRoute, async (c) => {
    const p = orgMember(c);
    const v = await viewer(c);
    const canDeleteOthers = allows(p, "org:retention", "DELETE");
    await service.deleteForViewer(
      deps(c),
      { ...v, canDeleteOthers },
      c.req.valid("param").id,
      auditContext(c),
    );
    return c.body(null, 204);
  });
}
