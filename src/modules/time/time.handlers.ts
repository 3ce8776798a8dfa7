import type { Context } from "hono";
import type { AppEnv } from "../../http/context";
import type { Router } from "../../http/openapi";
import { nextLink } from "../../lib/pagination";
import { allows, orgMember } from "../tokens/tokens.guards";
import * as entries from "./entries.service";
import {
  createEntryRoute,
  deleteEntryRoute,
  getEntryRoute,
  getTimerRoute,
  listEntriesRoute,
  startTimerRoute,
  stopTimerRoute,
  updateEntryRoute,
} from "./time.routes";
import {
  type Actor,
  currentTimer,
  resolveMember,
  startTimer,
  stopTimer,
  type TimeDeps,
} from "./time.service";

export function deps(c: Context<AppEnv>): TimeDeps {
  const { db, clock } = c.get("platform");
  return { db, clock, events: c.get("services").events };
}

/** The caller as a tracking actor: membership and what their role (and token scopes) allow. */
export async function actor(c: Context<AppEnv>): Promise<Actor> {
  const p = orgMember(c);
  const memberId = await resolveMember(c.get("platform").db, p.orgId, p.userId);
  const isAgent = p.kind === "agent";
  return {
    orgId: p.orgId,
    userId: p.userId,
    memberId,
    canManage: !isAgent && allows(p, "time:manage", c.req.method),
    canReadAll: !isAgent && allows(p, "data:read_all", "GET"),
  };
}

/** Timer and time entries of the caller's organization. */
export function registerTime(app: Router): void {
  app.openapi(getTimerRoute, async (c) =>
    c.json({ timer: await currentTimer(deps(c), await actor(c)) }, 200),
  );

  app.openapi(startTimerRoute, async (c) => {
    const body = (c.req.valid("json") as Parameters<typeof startTimer>[2] | undefined) ?? {};
    const entry = await startTimer(deps(c), await actor(c), body);
    c.header("Location", `/api/v1/time-entries/${entry.id}`);
    return c.json(entry, 201);
  });

  app.openapi(stopTimerRoute, async (c) => c.json(await stopTimer(deps(c), await actor(c)), 200));

  app.openapi(listEntriesRoute, async (c) => {
    const page = await entries.listEntries(deps(c), await actor(c), c.req.valid("query"));
    const link = nextLink(c.req.url, page.nextCursor);
    if (link) c.header("Link", link);
    return c.json(page, 200);
  });

  app.openapi(createEntryRoute, async (c) => {
    const entry = await entries.createEntry(deps(c), await actor(c), c.req.valid("json"));
    c.header("Location", `/api/v1/time-entries/${entry.id}`);
    return c.json(entry, 201);
  });

  app.openapi(getEntryRoute, async (c) =>
    c.json(await entries.getEntry(deps(c), await actor(c), c.req.valid("param").id), 200),
  );

  app.openapi(updateEntryRoute, async (c) => {
    const entry = await entries.updateEntry(
      deps(c),
      await actor(c),
      c.req.valid("param").id,
      c.req.valid("json"),
    );
    return c.json(entry, 200);
  });

  app.openapi(deleteEntryRoute, async (c) => {
    await entries.deleteEntry(deps(c), await actor(c), c.req.valid("param").id);
    return c.body(null, 204);
  });
}
