import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { nextLink } from "../../lib/pagination";
import { orgMember } from "../tokens/tokens.guards";
import {
  archiveProjectRoute,
  createProjectRoute,
  deleteProjectRoute,
  getProjectRoute,
  listProjectsRoute,
  unarchiveProjectRoute,
  updateProjectRoute,
} from "./projects.routes";
import * as svc from "./projects.service";
import {
  archiveTagRoute,
  createTagRoute,
  deleteTagRoute,
  getTagRoute,
  listTagsRoute,
  unarchiveTagRoute,
  updateTagRoute,
} from "./tags.routes";

function deps(c: Context<AppEnv>): svc.CatalogDeps {
  const { db, clock } = c.get("platform");
  return { db, clock, events: c.get("services").events };
}

function page<R, V>(c: Context<AppEnv>, p: { data: R[]; nextCursor: string | null }, view: (r: R) => V) {
  const link = nextLink(c.req.url, p.nextCursor);
  if (link) c.header("Link", link);
  return { data: p.data.map(view), nextCursor: p.nextCursor };
}

/** Projects and tags of the caller's organization. */
export function registerProjects(app: Router): void {
  app.openapi(listProjectsRoute, async (c) => {
    const p = await svc.list(deps(c), "project", orgMember(c).orgId, c.req.valid("query"));
    return c.json(page(c, p, svc.projectView), 200);
  });
  app.openapi(createProjectRoute, async (c) => {
    const row = await svc.createProject(deps(c), orgMember(c).orgId, c.req.valid("json"));
    c.header("Location", `/api/v1/projects/${row.id}`);
    return c.json(svc.projectView(row), 201);
  });
  app.openapi(getProjectRoute, async (c) => {
    const row = await svc.get(deps(c), "project", orgMember(c).orgId, c.req.valid("param").id);
    return c.json(svc.projectView(row), 200);
  });
  app.openapi(updateProjectRoute, async (c) => {
    const { orgId } = orgMember(c);
    const row = await svc.updateProject(deps(c), orgId, c.req.valid("param").id, c.req.valid("json"));
    return c.json(svc.projectView(row), 200);
  });
  for (const [route, archived] of [
    [archiveProjectRoute, true],
    [unarchiveProjectRoute, false],
  ] as const) {
    app.openapi(route, async (c) => {
      const row = await svc.setArchived(
        deps(c),
        "project",
        orgMember(c).orgId,
        c.req.valid("param").id,
        archived,
      );
      return c.json(svc.projectView(row), 200);
    });
  }
  app.openapi(deleteProjectRoute, async (c) => {
    await svc.remove(deps(c), "project", orgMember(c).orgId, c.req.valid("param").id);
    return c.body(null, 204);
  });

  app.openapi(listTagsRoute, async (c) => {
    const p = await svc.list(deps(c), "tag", orgMember(c).orgId, c.req.valid("query"));
    return c.json(page(c, p, svc.tagView), 200);
  });
  app.openapi(createTagRoute, async (c) => {
    const row = await svc.createTag(deps(c), orgMember(c).orgId, c.req.valid("json"));
    c.header("Location", `/api/v1/tags/${row.id}`);
    return c.json(svc.tagView(row), 201);
  });
  app.openapi(getTagRoute, async (c) => {
    const row = await svc.get(deps(c), "tag", orgMember(c).orgId, c.req.valid("param").id);
    return c.json(svc.tagView(row), 200);
  });
  app.openapi(updateTagRoute, async (c) => {
    const { orgId } = orgMember(c);
    const row = await svc.updateTag(deps(c), orgId, c.req.valid("param").id, c.req.valid("json"));
    return c.json(svc.tagView(row), 200);
  });
  for (const [route, archived] of [
    [archiveTagRoute, true],
    [unarchiveTagRoute, false],
  ] as const) {
    app.openapi(route, async (c) => {
      const row = await svc.setArchived(
        deps(c),
        "tag",
        orgMember(c).orgId,
        c.req.valid("param").id,
        archived,
      );
      return c.json(svc.tagView(row), 200);
    });
  }
  app.openapi(deleteTagRoute, async (c) => {
    await svc.remove(deps(c), "tag", orgMember(c).orgId, c.req.valid("param").id);
    return c.body(null, 204);
  });
}
