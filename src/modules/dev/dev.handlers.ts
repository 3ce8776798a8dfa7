import { createRoute, z } from "@hono/zod-openapi";
import { desc } from "drizzle-orm";
import { mailOutbox } from "../../db/schema";
import type { Router } from "../../http/openapi";
import { jsonContent, problemResponses, publicSecurity } from "../../http/openapi";

const MailSchema = z
  .object({
    id: z.string(),
    to: z.string(),
    from: z.string(),
    subject: z.string(),
    text: z.string(),
    html: z.string(),
    template: z.string().nullable(),
    createdAt: z.string().datetime(),
  })
  .openapi("DevMail");

const devMailRoute = createRoute({
  operationId: "listDevMail",
  method: "get",
  path: "/dev/mail",
  tags: ["Documentation"],
  summary: "Development mail outbox",
  description:
    "Messages the dev mail transport stored instead of sending. Exists only when NODE_ENV=development.",
  security: publicSecurity,
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) }) },
  responses: {
    200: jsonContent(z.object({ data: z.array(MailSchema) }), "Newest first"),
    ...problemResponses(422),
  },
});

/** Registered only in development: the outbox holds reset and verification links. */
export function registerDevMail(app: Router): void {
  app.openapi(devMailRoute, async (c) => {
    const { limit } = c.req.valid("query");
    const rows = await c
      .get("platform")
      .db.select()
      .from(mailOutbox)
      .orderBy(desc(mailOutbox.createdAt))
      .limit(limit);
    return c.json({ data: rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })) }, 200);
  });
}
