import { createRoute, z } from "@hono/zod-openapi";
import { cleanText, jsonBody } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { requirePermission } from "../auth/auth.middleware";
import { CatalogQuery, idParam } from "./projects.routes";

export const TagSchema = z
  .object({
    id: z.string().openapi({ example: "tag_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    name: z.string().openapi({ example: "meeting" }),
    archived: z.boolean(),
    archivedAt: z.string().datetime().nullable(),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
  })
  .openapi("Tag");

const TagPage = z.object({ data: z.array(TagSchema), nextCursor: z.string().nullable() }).openapi("TagPage");

const Name = cleanText(50).openapi({ example: "meeting" });
export const CreateTagBody = z.strictObject({ name: Name }).openapi("CreateTagRequest");
export const UpdateTagBody = z.strictObject({ name: Name.optional() }).openapi("UpdateTagRequest");

const tags = ["Tags"];
const security = bearerSecurity;
const read = [requirePermission("projects:read")];
const write = [requirePermission("projects:write")];
const TagId = idParam("tag_01jd0s4r9q8m6w2v3x4y5z6a7b");

export const listTagsRoute = createRoute({
  operationId: "listTags",
  method: "get",
  path: "/api/v1/tags",
  tags,
  summary: "List tags",
  description: "Tags of the caller's organization by name. Every member may read them.",
  security,
  middleware: read,
  request: { query: CatalogQuery },
  responses: { 200: jsonContent(TagPage, "Tags"), ...apiProblemResponses(401, 403, 422) },
});

export const createTagRoute = createRoute({
  operationId: "createTag",
  method: "post",
  path: "/api/v1/tags",
  tags,
  summary: "Create a tag",
  description:
    "Admins and managers (`projects:write`). Names are unique per organization, ignoring the case of ASCII letters (409).",
  security,
  middleware: write,
  request: { body: jsonBody(CreateTagBody, { name: "meeting" }) },
  responses: { 201: jsonContent(TagSchema, "Created"), ...apiProblemResponses(401, 403, 409, 415, 422) },
});

export const getTagRoute = createRoute({
  operationId: "getTag",
  method: "get",
  path: "/api/v1/tags/{id}",
  tags,
  summary: "Get a tag",
  description: "Another organization's tag id answers 404.",
  security,
  middleware: read,
  request: { params: TagId },
  responses: { 200: jsonContent(TagSchema, "The tag"), ...apiProblemResponses(401, 403, 404) },
});

export const updateTagRoute = createRoute({
  operationId: "updateTag",
  method: "patch",
  path: "/api/v1/tags/{id}",
  tags,
  summary: "Rename a tag",
  description: "`projects:write`. Renaming onto another tag's name is 409.",
  security,
  middleware: write,
  request: { params: TagId, body: jsonBody(UpdateTagBody, { name: "client meeting" }) },
  responses: {
    200: jsonContent(TagSchema, "The tag after the change"),
    ...apiProblemResponses(401, 403, 404, 409, 415, 422),
  },
});

const archiveRoute = (archive: boolean) =>
  createRoute({
    operationId: archive ? "archiveTag" : "unarchiveTag",
    method: "post",
    path: `/api/v1/tags/{id}/${archive ? "archive" : "unarchive"}`,
    tags,
    summary: archive ? "Archive a tag" : "Restore an archived tag",
    description: archive
      ? "Archived tags stay on existing entries but cannot be put on new or edited entries (422). Idempotent."
      : "Makes an archived tag usable again. Idempotent.",
    security,
    middleware: write,
    request: { params: TagId },
    responses: { 200: jsonContent(TagSchema, "The tag"), ...apiProblemResponses(401, 403, 404) },
  });

export const archiveTagRoute = archiveRoute(true);
export const unarchiveTagRoute = archiveRoute(false);

export const deleteTagRoute = createRoute({
  operationId: "deleteTag",
  method: "delete",
  path: "/api/v1/tags/{id}",
  tags,
  summary: "Delete an unused tag",
  description: "Only a tag that no live time entry carries; otherwise 409 `TAG_IN_USE` (archive it instead).",
  security,
  middleware: write,
  request: { params: TagId },
  responses: { 204: { description: "Deleted" }, ...apiProblemResponses(401, 403, 404, 409) },
});
