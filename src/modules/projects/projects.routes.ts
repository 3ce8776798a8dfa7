import { createRoute, z } from "@hono/zod-openapi";
import { cleanText, jsonBody } from "../../http/fields";
import { apiProblemResponses, bearerSecurity, jsonContent } from "../../http/openapi";
import { PageQuery } from "../../lib/pagination";
import { requirePermission } from "../auth/auth.middleware";

export const idParam = (example: string) =>
  z.object({
    id: z
      .string()
      .min(1)
      .max(64)
      .openapi({ param: { name: "id", in: "path" }, example }),
  });

export const CatalogQuery = PageQuery.extend({
  archived: z.enum(["false", "true", "all"]).default("false").openapi({
    description: "`false` (default): active only; `true`: archived only; `all`: both",
  }),
  q: cleanText(100).optional().openapi({ description: "Name contains (case-insensitive)", example: "web" }),
});

const ColorField = z
  .string()
  .regex(/^#[0-9a-fA-F]{6}$/, "must be a #rrggbb color")
  .transform((s) => s.toLowerCase())
  .openapi({ example: "#3b82f6", description: "`#rrggbb`" });

export const ProjectSchema = z
  .object({
    id: z.string().openapi({ example: "prj_01jd0s4r9q8m6w2v3x4y5z6a7b" }),
    name: z.string().openapi({ example: "Website relaunch" }),
    color: z.string().openapi({ example: "#3b82f6" }),
    billable: z.boolean().openapi({ description: "Default `billable` of new entries on this project" }),
    clientName: z.string().nullable().openapi({ example: "Acme Corp" }),
    archived: z.boolean(),
    archivedAt: z.string().datetime().nullable(),
    createdAt: z.string().datetime(),
    updatedAt: z.string().datetime(),
  })
  .openapi("Project");

const ProjectPage = z
  .object({ data: z.array(ProjectSchema), nextCursor: z.string().nullable() })
  .openapi("ProjectPage");

const Name = cleanText(100).openapi({ example: "Website relaunch" });
const ClientName = cleanText(100).nullable().openapi({ example: "Acme Corp" });

export const CreateProjectBody = z
  .strictObject({
    name: Name,
    color: ColorField.optional(),
    billable: z.boolean().optional(),
    clientName: ClientName.optional(),
  })
  .openapi("CreateProjectRequest");

export const UpdateProjectBody = z
  .strictObject({
    name: Name.optional(),
    color: ColorField.optional(),
    billable: z.boolean().optional(),
    clientName: ClientName.optional(),
  })
  .openapi("UpdateProjectRequest");

const tags = ["Projects"];
const security = bearerSecurity;
const read = [requirePermission("projects:read")];
const write = [requirePermission("projects:write")];
const ProjectId = idParam("prj_01jd0s4r9q8m6w2v3x4y5z6a7b");

export const listProjectsRoute = createRoute({
  operationId: "listProjects",
  method: "get",
  path: "/api/v1/projects",
  tags,
  summary: "List projects",
  description: "Projects of the caller's organization by name. Every member may read them.",
  security,
  middleware: read,
  request: {
    query: CatalogQuery.extend({
      billable: z
        .enum(["true", "false"])
        .optional()
        .openapi({ description: "Billable projects only, or not" }),
    }),
  },
  responses: { 200: jsonContent(ProjectPage, "Projects"), ...apiProblemResponses(401, 403, 422) },
});

export const createProjectRoute = createRoute({
  operationId: "createProject",
  method: "post",
  path: "/api/v1/projects",
  tags,
  summary: "Create a project",
  description:
    "Admins and managers (`projects:write`). Names are unique per organization, ignoring the case of ASCII letters (409).",
  security,
  middleware: write,
  request: {
    body: jsonBody(CreateProjectBody, { name: "Website relaunch", color: "#3b82f6", billable: true }),
  },
  responses: {
    201: jsonContent(ProjectSchema, "Created"),
    ...apiProblemResponses(401, 403, 409, 415, 422),
  },
});

export const getProjectRoute = createRoute({
  operationId: "getProject",
  method: "get",
  path: "/api/v1/projects/{id}",
  tags,
  summary: "Get a project",
  description: "Another organization's project id answers 404.",
  security,
  middleware: read,
  request: { params: ProjectId },
  responses: { 200: jsonContent(ProjectSchema, "The project"), ...apiProblemResponses(401, 403, 404) },
});

export const updateProjectRoute = createRoute({
  operationId: "updateProject",
  method: "patch",
  path: "/api/v1/projects/{id}",
  tags,
  summary: "Update a project",
  description:
    "Partial update (`projects:write`). Renaming onto another project's name is 409. Emits `project.updated`.",
  security,
  middleware: write,
  request: { params: ProjectId, body: jsonBody(UpdateProjectBody, { name: "Website v2", billable: false }) },
  responses: {
    200: jsonContent(ProjectSchema, "The project after the change"),
    ...apiProblemResponses(401, 403, 404, 409, 415, 422),
  },
});

const archiveRoute = (archive: boolean) =>
  createRoute({
    operationId: archive ? "archiveProject" : "unarchiveProject",
    method: "post",
    path: `/api/v1/projects/{id}/${archive ? "archive" : "unarchive"}`,
    tags,
    summary: archive ? "Archive a project" : "Restore an archived project",
    description: archive
      ? "Archived projects keep their entries and reports but accept no new entries (422). Idempotent; emits `project.updated` when it changes something."
      : "Makes an archived project active again. Idempotent; emits `project.updated` when it changes something.",
    security,
    middleware: write,
    request: { params: ProjectId },
    responses: { 200: jsonContent(ProjectSchema, "The project"), ...apiProblemResponses(401, 403, 404) },
  });

export const archiveProjectRoute = archiveRoute(true);
export const unarchiveProjectRoute = archiveRoute(false);

export const deleteProjectRoute = createRoute({
  operationId: "deleteProject",
  method: "delete",
  path: "/api/v1/projects/{id}",
  tags,
  summary: "Delete an unused project",
  description:
    "Only a project that no live time entry references; otherwise 409 `PROJECT_IN_USE` (archive it instead). Emits `project.deleted`.",
  security,
  middleware: write,
  request: { params: ProjectId },
  responses: { 204: { description: "Deleted" }, ...apiProblemResponses(401, 403, 404, 409) },
});
