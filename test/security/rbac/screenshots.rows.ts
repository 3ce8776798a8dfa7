/** Matrix rows for screenshots: agent ingest, listing, detail, images, delete. */
import { eq } from "drizzle-orm";
import sharp from "sharp";
import { screenshots } from "../../../src/db/schema";
import type { SeededMember } from "../../support/identity";
import { type Cell, IP, inOrgA, must, type Scenario, signedIn } from "./support";

let tiny: Uint8Array | undefined;

/** A screenshot uploaded by `who`'s agent; its id. */
async function screenshotOf(x: Cell, who: SeededMember): Promise<string> {
  const agent = await must(x, "POST", "/api/v1/agents", who, { name: `device-${crypto.randomUUID()}` });
  tiny ??= new Uint8Array(
    await sharp({ create: { width: 32, height: 24, channels: 3, background: "#3366cc" } })
      .png()
      .toBuffer(),
  );
  const form = new FormData();
  form.set("file", new File([tiny as BlobPart], "s.png", { type: "image/png" }));
  const res = await x.t.app.request(
    "/api/v1/ingest/screenshots",
    { method: "POST", headers: { authorization: `Bearer ${agent.token}` }, body: form },
    IP,
  );
  if (res.status !== 201) throw new Error(`setup: upload → ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

const stored = (x: Cell, id: string) => async () =>
  (await x.t.platform.db.select().from(screenshots).where(eq(screenshots.id, id))).length === 1;

/** Organization B's screenshot, called as A's admin. */
const crossShot = async (x: Cell) => {
  const id = await screenshotOf(x, x.fx.otherOrgAdmin);
  return { params: { id }, intact: stored(x, id) };
};

/** Reads of A's plain member's screenshot: the owner, managers and admins; the viewer cannot see it. */
const readRow = (route: string): Scenario => ({
  route,
  expect: inOrgA(200, 200, 200, 404),
  prepare: async (x) => ({ params: { id: await screenshotOf(x, x.fx.member) } }),
  crossOrg: [crossShot],
});

export const rows: Scenario[] = [
  // Agent tokens only: every user session is refused before the body is read.
  { route: "POST /api/v1/ingest/screenshots", expect: signedIn(403) },
  // Everyone lists (their own; managers and admins everyone's).
  { route: "GET /api/v1/screenshots", expect: signedIn(200) },
  readRow("GET /api/v1/screenshots/{id}"),
  readRow("GET /api/v1/screenshots/{id}/image"),
  readRow("GET /api/v1/screenshots/{id}/thumbnail"),
  {
    route: "DELETE /api/v1/screenshots/{id}",
    // The owner and admins delete; a manager sees it but may not; the viewer has no `own:write`.
    expect: inOrgA(204, 403, 204, 403),
    prepare: async (x) => ({ params: { id: await screenshotOf(x, x.fx.member) } }),
    crossOrg: [crossShot],
  },
];
