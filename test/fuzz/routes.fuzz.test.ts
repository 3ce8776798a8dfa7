/**
 * Schemathesis-style fuzzing of EVERY operation in /api/v1/openapi.json (SPEC 1: anything a client
 * can send gets a clear 4xx problem+json, never a 500).
 *
 * For each path+method the test builds a valid request from the declared parameters and JSON (or
 * multipart) request-body schema, then sends fast-check-generated mutations of it: wrong types,
 * null, missing required fields, unknown fields, empty/huge strings, control characters and lone
 * surrogates, numbers at and past boundaries, huge arrays, deep nesting, malformed JSON, wrong or
 * missing content types, odd path parameters, odd query strings (repeated keys, arrays, invalid and
 * out-of-range dates), odd headers and credentials.
 *
 * Every response must be < 500; every 4xx must be application/problem+json; every 422 must carry an
 * `errors` array whose entries name a field path. All failures are collected and reported together.
 * The seed is fixed (FUZZ_SEED overrides it; FUZZ_RUNS scales the runs per operation).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { appendFile } from "node:fs/promises";
import fc from "fast-check";
import { idlePeriods } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import { totpCode } from "../../src/modules/two-factor/totp";
import { hb, type Tracker, tracker } from "../activity/support";
import { makeImage } from "../screenshots/support";
import { createTestApp, TEST_METRICS_TOKEN, TEST_OPERATOR_TOKEN, type TestApp } from "../support/app";
import { membershipId, type SeededMember, seedMember } from "../support/identity";
import { createAgent, createPat } from "../tokens/support";

const SEED = Number(process.env.FUZZ_SEED ?? 20260302);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const T0 = "2026-03-02T09:00:00.000Z";
const DAY = 86_400_000;

// ───────────────────────────── OpenAPI types ─────────────────────────────

interface Schema {
  $ref?: string;
  type?: string | string[];
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  example?: unknown;
}
interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  security?: Record<string, string[]>[];
}
interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}
interface Op {
  method: string;
  path: string;
  op: Operation;
  key: string;
}

// ───────────────────────────── requests and failures ─────────────────────────────

type Body = { kind: "none" } | { kind: "text"; text: string } | { kind: "form"; form: FormData };

/** One request before it is sent: `path` and `query` are already URL text. */
interface Req {
  mutation: string;
  /** Another method than the operation's (an undeclared one). */
  method?: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: Body;
  /** Short description of the body for the report. */
  bodyView: string;
}

interface Failure {
  op: string;
  mutation: string;
  request: string;
  status: number | string;
  reason: string;
  body: string;
  count: number;
}

/** Collapses long runs and escapes control characters, so a request fits on a line or two. */
function short(s: string, max = 260): string {
  let out = s.replace(/(.)\1{15,}/gsu, (m, c: string) => `${c}…×${m.length}`);
  out = JSON.stringify(out).slice(1, -1);
  return out.length > max ? `${out.slice(0, max)}…(${out.length} chars)` : out;
}

// ───────────────────────────── weird values ─────────────────────────────

const HUGE = "a".repeat(100_000);
const deepObject = (depth: number): unknown => {
  let v: unknown = { leaf: 1 };
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};
const deepArray = (depth: number): unknown => {
  let v: unknown = [1];
  for (let i = 0; i < depth; i++) v = [v];
  return v;
};
const deepJsonText = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

const weirdStrings: string[] = [
  "",
  " ",
  "   \t\n ",
  HUGE,
  "\u0000",
  "a\u0000b",
  "\u0001\u0002\u0003",
  "\u001b[31mred\u001b[0m",
  "\u007f",
  "line\nbreak",
  "\r\n",
  "\u2028\u2029",
  "\u200b",
  "\ufeff",
  "\ud800",
  "x\udfffy",
  "\udbff\udfff",
  "😀🧪",
  "é ü ß",
  "ｆｕｌｌｗｉｄｔｈ",
  "..%2F..%2Fetc%2Fpasswd",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  "%s%n%x",
  "$" + "{7*7}", // a template-injection probe, kept literal
  "null",
  "undefined",
  "true",
  "NaN",
  "Infinity",
  "-Infinity",
  "1e309",
  "-1",
  "0",
  "0x10",
  "9007199254740993",
  "2026-02-30",
  "2026-02-30T00:00:00Z",
  "2026-13-01T00:00:00Z",
  "2026-03-02T24:00:00Z",
  "275760-09-14",
  "275760-09-14T00:00:00Z",
  "+275760-09-13T00:00:00.000Z",
  "+275760-09-14T00:00:00.001Z",
  "-271821-04-19T00:00:00Z",
  "-000001-01-01T00:00:00Z",
  "0000-01-01T00:00:00Z",
  "9999-12-31T23:59:59.999Z",
  "1970-01-01T00:00:00Z",
  "2026-03-02T09:00:00+14:00",
  "2026-03-02T09:00:00.123456789Z",
  "2026-03-02",
  "Not/AZone",
  "Etc/GMT+14",
  "EST5EDT",
  "(a+)+$",
  "[",
  "(?<",
  "\\",
];

const weirdNumbers: unknown[] = [
  -1,
  0,
  1,
  0.5,
  -0.000001,
  2 ** 31,
  2 ** 53,
  -(2 ** 53),
  2 ** 53 + 2,
  1e308,
  -1e308,
  5e-324,
  Number.MAX_VALUE,
];

const hugeArray = Array.from({ length: 20_000 }, (_, i) => `x${i}`);
const weirdStructures: unknown[] = [
  null,
  true,
  false,
  [],
  [null],
  {},
  { a: 1 },
  hugeArray,
  Array.from({ length: 5000 }, () => ({})),
  deepObject(200),
  deepArray(200),
  [1, "a", null, {}, []],
  JSON.parse('{"__proto__":{"admin":true}}'),
  { constructor: { prototype: { x: 1 } } },
];

const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...weirdStrings) },
  { weight: 3, arbitrary: fc.constantFrom(...weirdNumbers) },
  { weight: 3, arbitrary: fc.constantFrom(...weirdStructures) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double()) },
);

/** Query values arrive as text: `[rawText]` pieces are already URL-encoded (or deliberately broken). */
const weirdQueryText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...weirdStrings.filter((s) => s.length < 1000)).map((s) => enc(s)),
  fc.constantFrom(
    enc(HUGE),
    "%00",
    "%zz",
    "%",
    "%E0%A4%A",
    "%ED%A0%80",
    "%C0%AF",
    "-1",
    "0",
    "101",
    "1.5",
    "1e308",
    "NaN",
    "2026-02-30",
    "2026-02-29",
    "275760-09-14",
    "275760-09-13",
    "%2B275760-09-13",
    "-271821-04-19",
    "0000-00-00",
    "99999-01-01",
    "2026-3-2",
    "2026-03-02T00:00:00Z",
    ",,,,",
    enc("mem_x,".repeat(1500)),
    enc(Array.from({ length: 1500 }, (_, i) => `prj_${i}`).join(",")),
    "true",
    "TRUE",
    "yes",
    "",
  ),
);

function enc(s: string): string {
  // encodeURIComponent throws on lone surrogates: encode them as the (invalid) UTF-8 a client could send.
  return s.replace(/[\ud800-\udfff]/gu, "\ufffd") === s ? encodeURIComponent(s) : "%ED%A0%80";
}

const weirdPathSegments: string[] = [
  "",
  "%20",
  "%09",
  "..%2F..%2Fadmin",
  "..%2f",
  "%2e%2e",
  "..",
  ".",
  "a".repeat(10_000),
  "%00",
  "%0A",
  "%zz",
  "%",
  "%ED%A0%80",
  "%C0%AF",
  enc("😀"),
  enc("ü"),
  "null",
  "undefined",
  "0",
  "-1",
  "9007199254740993",
  "me",
  "%3Cscript%3E",
  "prj_%20",
  "' OR 1=1 --".replace(/ /g, "%20"),
  "*",
  "%2A",
  "x;y=1",
];

// ───────────────────────────── state ─────────────────────────────

let t: TestApp;
let doc: Doc;
let ops: Op[] = [];
let admin: SeededMember;
let track: Tracker;
let png: Uint8Array;
const fx = {
  selfMem: "",
  victim: null as SeededMember | null,
  victimMem: "",
  otherOrg: null as SeededMember | null,
  otherProject: "",
  project: "",
  tag: "",
  entry: "",
  idle: "",
  screenshot: "",
  invitation: "",
  pat: "",
  spareAgent: "",
  day: 0,
};
const failures = new Map<string, Failure>();
const stats = {
  requests: 0,
  leftToProbe: 0,
  byStatus: new Map<number, number>(),
  perOp: {} as Record<string, Record<number, number>>,
};

beforeAll(async () => {
  t = await createTestApp({
    RATE_LIMIT_LOGIN: "1000000/1m",
    RATE_LIMIT_REGISTER: "1000000/1m",
    RATE_LIMIT_PASSWORD_FORGOT: "1000000/1m",
    RATE_LIMIT_VERIFY_RESEND: "1000000/1m",
    RATE_LIMIT_API: "1000000/1m",
    RATE_LIMIT_HEARTBEATS: "1000000/1m",
    RATE_LIMIT_SCREENSHOTS: "1000000/1m",
  });
  t.clock.set(T0);
  doc = (await (await t.app.request("/api/v1/openapi.json")).json()) as Doc;
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods))
      ops.push({ method: method.toUpperCase(), path, op, key: `${method.toUpperCase()} ${path}` });
  // Deletions last, so the fixtures live as long as possible; the audit chain's verification first,
  // while the chain is short (it reads every row: late in the run each call takes ~50 ms).
  const rank = (o: Op) => (o.key === "GET /api/v1/audit/verify" ? 0 : o.method === "DELETE" ? 2 : 1);
  ops = [...ops].sort((a, b) => rank(a) - rank(b));
  png = await makeImage("png", 32, 20);
  admin = await seedMember(t, "admin");
  track = await tracker(t, "member", { orgId: admin.orgId });
  fx.selfMem = await membershipId(t, admin);
  fx.otherOrg = await seedMember(t, "admin");
  const p = await api(fx.otherOrg, "POST", "/api/v1/projects", { name: "Foreign" });
  fx.otherProject = (p.body as { id: string }).id;
  await refreshFixtures();
}, 60_000);
afterAll(() => t?.close());

async function api(who: { auth: Record<string, string> }, method: string, url: string, body?: unknown) {
  const res = await t.app.request(url, {
    method,
    headers: { ...who.auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed as Record<string, unknown> };
}

/** Re-creates the shared admin and agent when a request revoked or demoted them. */
async function ensureCredentials(): Promise<string[]> {
  const renewed: string[] = [];
  const me = await api(admin, "GET", `/api/v1/orgs/${admin.orgId}/members/${fx.selfMem}`);
  if (me.status !== 200 || me.body?.role !== "admin") {
    admin = await seedMember(t, "admin", { orgId: admin.orgId });
    fx.selfMem = await membershipId(t, admin);
    renewed.push("admin");
  }
  if ((await api({ auth: track.agent }, "GET", "/api/v1/agents/me")).status !== 200) {
    track = await tracker(t, "member", { orgId: admin.orgId });
    renewed.push("agent");
  }
  return renewed;
}

/** Keeps the referenced rows alive (DELETEs and role changes eat them). */
async function refreshFixtures() {
  await ensureCredentials();
  fx.victim = await seedMember(t, "member", { orgId: admin.orgId });
  fx.victimMem = await membershipId(t, fx.victim);
  const keep = (r: { status: number; body: Record<string, unknown> }, old: string) =>
    r.status < 300 && typeof r.body?.id === "string" ? (r.body.id as string) : old;
  fx.project = keep(
    await api(admin, "POST", "/api/v1/projects", { name: `Fixture ${++fx.day}` }),
    fx.project,
  );
  fx.tag = keep(await api(admin, "POST", "/api/v1/tags", { name: `fixture-${fx.day}` }), fx.tag);
  const start = Date.parse(T0) - fx.day * DAY;
  fx.entry = keep(
    await api(admin, "POST", "/api/v1/time-entries", {
      start: new Date(start).toISOString(),
      end: new Date(start + 3_600_000).toISOString(),
      projectId: fx.project,
      tagIds: [fx.tag],
    }),
    fx.entry,
  );
  if (fx.entry) {
    const id = newId("idlePeriod", t.clock.now());
    const now = t.clock.now();
    await t.platform.db.insert(idlePeriods).values({
      id,
      orgId: admin.orgId,
      memberId: fx.selfMem,
      entryId: fx.entry,
      startAt: new Date(start + 600_000),
      endAt: new Date(start + 1_800_000),
      status: "open",
      detectedAt: now,
      createdAt: now,
      updatedAt: now,
    });
    fx.idle = id;
  }
  const form = new FormData();
  form.set("file", new File([png as BlobPart], "s.png", { type: "image/png" }));
  form.set("takenAt", new Date(Date.parse(T0) - 60_000).toISOString());
  const shot = await t.app.request("/api/v1/ingest/screenshots", {
    method: "POST",
    headers: track.agent,
    body: form,
  });
  if (shot.status < 300) fx.screenshot = ((await shot.json()) as { id: string }).id;
  fx.invitation = keep(
    await api(admin, "POST", `/api/v1/orgs/${admin.orgId}/invitations`, {
      email: `invitee${fx.day}@example.com`,
      role: "member",
    }),
    fx.invitation,
  );
  fx.pat = (await createPat(t, admin, { name: `pat ${fx.day}`, scopes: ["reports:read"] })).id;
  fx.spareAgent = (await createAgent(t, admin, `spare ${fx.day}`)).id;
  await api({ auth: track.agent }, "POST", "/api/v1/ingest/heartbeats", {
    heartbeats: [hb(new Date(Date.parse(T0) - fx.day * 60_000).toISOString(), { duration: 30 })],
  });
}

// ───────────────────────────── who calls what ─────────────────────────────

/** Operations that destroy or change the caller's own credentials: a throwaway identity per request. */
const CALLER_DESTROYING = new Set([
  "POST /api/v1/auth/logout",
  "DELETE /api/v1/auth/sessions/{id}",
  "POST /api/v1/auth/sessions/revoke-others",
  "POST /api/v1/auth/sessions/current/organization",
  "POST /api/v1/auth/refresh",
  "POST /api/v1/auth/password/change",
  "POST /api/v1/auth/email/change",
  "POST /api/v1/auth/2fa/setup",
  "POST /api/v1/auth/2fa/enable",
  "POST /api/v1/auth/2fa/disable",
  "POST /api/v1/auth/2fa/backup-codes",
  "POST /api/v1/invitations/accept",
  "POST /api/v1/auth/2fa/verify",
]);

/** A throwaway caller with two-factor authentication at the stage these operations need. */
const TWO_FACTOR_STAGE: Record<string, "setup" | "enabled" | "challenged"> = {
  "POST /api/v1/auth/2fa/enable": "setup",
  "POST /api/v1/auth/2fa/disable": "enabled",
  "POST /api/v1/auth/2fa/backup-codes": "enabled",
  "POST /api/v1/auth/2fa/verify": "challenged",
};

/** A member plus what the two-factor operations need to be called validly. */
type Member = SeededMember & { totp?: string; challengeToken?: string };

async function twoFactorCaller(stage: "setup" | "enabled" | "challenged"): Promise<Member> {
  const m: Member = await seedMember(t, "admin", { orgId: admin.orgId });
  const setup = await api(m, "POST", "/api/v1/auth/2fa/setup");
  const secret = setup.body?.secret as string;
  const now = t.clock.now();
  if (stage !== "setup") {
    // Enabled with the previous step's code, so the current one is still unused (codes are single-use).
    const code = await totpCode(secret, new Date(now.getTime() - 30_000));
    const res = await api(m, "POST", "/api/v1/auth/2fa/enable", { code });
    if (res.status !== 200) throw new Error(`2fa enable: ${res.status} ${JSON.stringify(res.body)}`);
  }
  m.totp = await totpCode(secret, now);
  if (stage === "challenged") {
    const login = await api({ auth: {} }, "POST", "/api/v1/auth/login", {
      email: m.email,
      password: m.password,
    });
    m.challengeToken = login.body?.challengeToken as string;
  }
  return m;
}

interface Caller {
  member: Member;
  headers: Record<string, string>;
}

async function callerFor(o: Op): Promise<Caller> {
  if (o.path.startsWith("/api/v1/admin/") || o.path === "/api/v1/health/detailed")
    return { member: admin, headers: { authorization: `Bearer ${TEST_OPERATOR_TOKEN}` } };
  if (o.path === "/metrics")
    return { member: admin, headers: { authorization: `Bearer ${TEST_METRICS_TOKEN}` } };
  if (o.path.startsWith("/api/v1/ingest/") || o.path === "/api/v1/agents/me")
    return { member: track, headers: track.agent };
  const stage = TWO_FACTOR_STAGE[o.key];
  if (stage) {
    const m = await twoFactorCaller(stage);
    return { member: m, headers: stage === "challenged" ? {} : m.auth };
  }
  if (CALLER_DESTROYING.has(o.key)) {
    const m = await seedMember(t, "admin", { orgId: admin.orgId });
    return { member: m, headers: m.auth };
  }
  return { member: admin, headers: admin.auth };
}

/** Values that make a request valid beyond its shape (ids that exist, the caller's password…). */
function hints(name: string, who: Member, o: Op): unknown[] | undefined {
  switch (name) {
    case "projectId":
      return [fx.project, fx.otherProject];
    case "tagIds":
      return [[fx.tag], [fx.tag, fx.tag]];
    case "tagId":
      return [fx.tag];
    case "memberId":
      return [fx.selfMem, fx.victimMem];
    case "memberIds":
      return [fx.selfMem, `${fx.selfMem},${fx.victimMem}`];
    case "projectIds":
      return [fx.project, `${fx.project},${fx.otherProject}`];
    case "organizationId":
      return [who.orgId, fx.otherOrg?.orgId];
    case "refreshToken":
      return [who.refreshToken];
    case "password":
    case "currentPassword":
      return [who.password];
    case "email":
      return o.path.endsWith("/login") || o.path.endsWith("/forgot") ? [who.email] : undefined;
    case "timezone":
    case "tz":
      return ["Europe/Berlin", "UTC", "Pacific/Kiritimati", "America/St_Johns"];
    case "actorId":
      return [who.userId];
    case "targetId":
      return [fx.selfMem];
    case "action":
      return o.path === "/api/v1/audit" ? ["auth.*", "project.created"] : undefined;
    case "code":
      return who.totp ? [who.totp] : ["123456", "ABCD-EFGH"];
    case "challengeToken":
      return who.challengeToken ? [who.challengeToken] : undefined;
    case "expiresAt":
      return [new Date(Date.parse(T0) + 30 * DAY).toISOString(), null];
    case "pattern":
      return ["(?:bank|payroll)", "secret"];
    default:
      return undefined;
  }
}

// ───────────────────────────── schema → valid values ─────────────────────────────

function resolve(s: Schema | undefined): Schema {
  if (!s) return {};
  if (s.$ref) return resolve(doc.components.schemas[s.$ref.split("/").pop() as string]);
  if (s.allOf) {
    const merged: Schema = {};
    for (const part of s.allOf) Object.assign(merged, resolve(part));
    const { allOf: _, ...rest } = s;
    return { ...merged, ...rest };
  }
  return s;
}

const isoAround = fc
  .integer({ min: -60 * 24 * 30, max: 60 })
  .map((min) => new Date(Date.parse(T0) + min * 60_000).toISOString().replace(".000Z", "Z"));
const dateAround = fc
  .integer({ min: -20, max: 3 })
  .map((d) => new Date(Date.parse(T0) + d * DAY).toISOString().slice(0, 10));
const word = (min: number, max: number) =>
  fc
    .array(fc.constantFrom(..."abcdefghijkmnopqrstuvwxyzABCXYZ0123456789-_ ."), {
      minLength: Math.max(0, min - 1),
      maxLength: Math.max(0, Math.min(max, 14) - 1),
    })
    .map((a) => `f${a.join("")}`.trim().padEnd(min, "x"));

function validValue(raw: Schema | undefined, name: string, who: Member, o: Op): fc.Arbitrary<unknown> {
  const s = resolve(raw);
  const plain = validPlain(s, name, who, o);
  const h = hints(name, who, o)?.filter((v) => v !== undefined && v !== "");
  return h?.length
    ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...h) }, { weight: 1, arbitrary: plain })
    : plain;
}

function validPlain(s: Schema, name: string, who: Member, o: Op): fc.Arbitrary<unknown> {
  if (s.enum) return fc.constantFrom(...s.enum);
  const types = (Array.isArray(s.type) ? s.type : [s.type ?? "object"]).filter((x) => x !== "null");
  const type = types[0] ?? "null";
  switch (type) {
    case "string": {
      if (s.format === "date-time") return isoAround;
      if (s.format === "email")
        return word(1, 10).map((w) => `fz.${w.replace(/[^a-z0-9]/gi, "")}@example.com`);
      if (s.format === "password") return word(8, 14).map((w) => `Sturdy-${w}-Orbit-42`);
      if (s.pattern === "^\\d{4}-\\d{2}-\\d{2}$" || ["date", "week", "from", "to"].includes(name))
        return dateAround;
      if (s.pattern) {
        const min = s.minLength ?? 0;
        const max = s.maxLength ?? 1000;
        return fc
          .stringMatching(new RegExp(s.pattern))
          .map((v) => (v.length < min ? v + "A".repeat(min - v.length) : v))
          .filter((v) => v.length <= max && new RegExp(s.pattern as string).test(v));
      }
      return word(Math.max(1, s.minLength ?? 1), s.maxLength ?? 30);
    }
    case "integer":
      return fc.integer({ min: s.minimum ?? 0, max: Math.min(s.maximum ?? 1000, 2 ** 31) });
    case "number":
      return fc.double({ min: s.minimum ?? 0, max: s.maximum ?? 1000, noNaN: true, noDefaultInfinity: true });
    case "boolean":
      return fc.boolean();
    case "array": {
      const min = s.minItems ?? 0;
      const items =
        name === "heartbeats"
          ? heartbeatArb
          : validValue(s.items, name === "tagIds" ? "tagId" : `${name}[]`, who, o);
      return fc.array(items, { minLength: min, maxLength: Math.max(min, Math.min(s.maxItems ?? 3, 3)) });
    }
    case "object": {
      const props = s.properties ?? {};
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      const required = (s.required ?? []).filter((k) => k in props);
      // Only mutations send these: no valid value can be made up (an invitation token, a cursor).
      for (const [k, v] of Object.entries(props))
        if (required.includes(k) || !UNGUESSABLE.has(k)) model[k] = validValue(v, k, who, o);
      return fc.record(model, { requiredKeys: required }).map(orderRange);
    }
    default:
      return fc.constant(null);
  }
}

const UNGUESSABLE = new Set(["cursor", "invitationToken"]);

/** `start`/`end` of one entry: in order and under the 24-hour cap, so valid bodies get past validation. */
function orderRange<T>(v: T): T {
  const r = v as Record<string, unknown>;
  if (typeof r.start === "string" && typeof r.end === "string") {
    const minutes = 5 + ((Date.parse(r.start) / 60_000) % 480);
    return { ...r, end: new Date(Date.parse(r.start) + minutes * 60_000).toISOString() } as T;
  }
  return v;
}

/** Heartbeats near the clock with unique ids (the declared schema plus realistic times). */
let hbSeq = 0;
const heartbeatArb = fc
  .record({
    time: isoAround,
    duration: fc.integer({ min: 0, max: 120 }),
    app: fc.constantFrom("Code", "Firefox", "Terminal"),
    title: fc.option(fc.constantFrom("main.ts", "Pull requests", "bank statement"), { nil: undefined }),
    url: fc.option(fc.constantFrom("https://example.com/a", null), { nil: undefined }),
    idle: fc.boolean(),
    keyboard: fc.option(fc.integer({ min: 0, max: 500 }), { nil: undefined }),
  })
  .map((h) => ({ id: `fz-${++hbSeq}`, ...h }));

// ───────────────────────────── mutations ─────────────────────────────

type Json = unknown;
type Slot = (string | number)[];

/** Every place in `v` a mutation can hit: each present value, and each declared-but-absent property. */
function slots(v: Json, s: Schema, at: Slot = []): Slot[] {
  const r = resolve(s);
  const out: Slot[] = [];
  if (at.length) out.push(at);
  if (Array.isArray(v)) {
    v.slice(0, 3).forEach((item, i) => {
      out.push(...slots(item, r.items ?? {}, [...at, i]));
    });
  } else if (v && typeof v === "object") {
    for (const [k, ps] of Object.entries(r.properties ?? {}))
      if (k in (v as object)) out.push(...slots((v as Record<string, Json>)[k], ps, [...at, k]));
      else out.push([...at, k]);
  }
  return out;
}

function setAt(v: Json, path: Slot, value: unknown): Json {
  if (!path.length) return value;
  const copy: Json = Array.isArray(v) ? [...v] : { ...(v as object) };
  const [head, ...rest] = path;
  (copy as Record<string | number, Json>)[head as string] = setAt(
    (v as Record<string | number, Json>)?.[head as string],
    rest,
    value,
  );
  return copy;
}

function deleteAt(v: Json, path: Slot): Json {
  if (path.length === 1) {
    if (Array.isArray(v)) return v.filter((_, i) => i !== path[0]);
    const { [path[0] as string]: _, ...rest } = v as Record<string, Json>;
    return rest;
  }
  const [head, ...rest] = path;
  return setAt(v, [head as string], deleteAt((v as Record<string, Json>)[head as string], rest));
}

interface Built {
  params: Record<string, string>;
  query: [string, string][];
  body: Json;
  form?: Record<string, string>;
}

const CONTENT_TYPES = [
  null,
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "multipart/form-data; boundary=zzz",
  "application/json; charset=latin1",
  "APPLICATION/JSON",
  "application/problem+json",
  "application/json-patch+json",
  "application/xml",
  "",
  "*/*",
];

const MALFORMED_JSON = [
  "",
  "{",
  "}",
  '{"a":',
  "{'a':1}",
  '{"a":1,}',
  '{"a":1}}',
  "[1,2",
  "nul",
  "NaN",
  "Infinity",
  "undefined",
  '"\\ud800"',
  '{"x":"\\u00"}',
  "\u0000",
  "\ufeff{}",
  '{"a":1}\u0000',
  "{}{}",
  `${"[".repeat(100_000)}${"]".repeat(100_000)}`,
  deepJsonText(50_000),
  `{"s":"${"a".repeat(1_100_000)}"}`,
  "1e99999",
  "-",
  '{"__proto__":{"polluted":true}}',
];

const EXTRA_HEADERS: Record<string, string>[] = [
  { "accept-version": "2" },
  { "accept-version": "abc" },
  { "accept-version": "" },
  { "accept-version": "1, 2" },
  { "x-request-id": "a".repeat(5000) },
  { "x-request-id": "../../x" },
  { accept: "application/xml" },
  { "accept-encoding": "br;q=abc, gzip;q=2" },
  { "if-none-match": `"${"x".repeat(2000)}` },
  { "if-none-match": "*" },
  { origin: "https://evil.example" },
  { "x-forwarded-for": "not-an-ip, ::ffff:999.1.1.1" },
  { "content-length": "abc" },
];

const AUTH_VARIANTS = (o: Op, who: Caller): (Record<string, string> | null)[] => [
  null,
  { authorization: "Bearer" },
  { authorization: "Bearer " },
  { authorization: "Basic YTpi" },
  { authorization: `Bearer ${"x".repeat(10_000)}` },
  { authorization: "Bearer ttr_not_a_token" },
  { authorization: "Bearer op_wrong" },
  { authorization: `bearer ${TEST_OPERATOR_TOKEN}` },
  { authorization: `Bearer ${TEST_OPERATOR_TOKEN}` },
  { authorization: `Bearer ${TEST_METRICS_TOKEN}` },
  // Other kinds of credentials of the same person (never the shared admin's, which a logout would revoke).
  o.path.startsWith("/api/v1/ingest/") ? track.auth : track.agent,
  who.member.auth,
  { authorization: `Bearer ${who.member.accessToken}x` },
  { authorization: `Bearer ${who.member.accessToken.split(".").slice(0, 2).join(".")}.` },
  { authorization: `Bearer ${who.member.refreshToken}` },
];

const EDGE_DATES = [
  "2026-02-30",
  "2026-02-29",
  "2025-02-29",
  "275760-09-14",
  "275760-09-13",
  "%2B275760-09-13",
  "-271821-04-19",
  "2026-02-30T00:00:00Z",
  "275760-09-14T00:00:00Z",
  "%2B275760-09-13T00:00:00Z",
  "-271821-04-20T00:00:00Z",
  "0000-01-01",
  "0000-01-01T00:00:00Z",
  "9999-12-31",
  "9999-12-30",
  "9999-12-31T23:00:00Z",
  "1000-01-01",
  "0099-12-31",
  "1970-01-01",
  "1900-01-01",
  "2026-12-31",
  "2027-03-02",
  "2025-03-02",
];

/** Values every body field gets at least once (the edge pass); the random pass draws from `weirdValue`. */
const EDGE_VALUES: unknown[] = [null, "", HUGE, "\u0000", "\ud800", -1, 2 ** 53, 1e308, [], {}, true];

interface RequestSpace {
  /** Random requests: a valid base plus one mutation. */
  arb: fc.Arbitrary<Req>;
  /** A valid base request, for the edge pass. */
  base: fc.Arbitrary<Built>;
  /** Every fixed mutation of `b`, enumerated (boundary dates, odd path segments, bodies, content types…). */
  edges: (b: Built) => Req[];
}

/** All requests for one operation. */
function requestSpace(o: Op, who: Caller): RequestSpace {
  const params = (o.op.parameters ?? []).filter((p) => p.in === "path");
  const queries = (o.op.parameters ?? []).filter((p) => p.in === "query");
  const jsonBody = o.op.requestBody?.content["application/json"]?.schema;
  const formBody = o.op.requestBody?.content["multipart/form-data"]?.schema;
  const bodyless = o.method === "GET" || o.method === "HEAD";

  const pathPool = (p: Parameter): string[] => {
    const ex = String(resolve(p.schema).example ?? "");
    if (p.name === "orgId") return [admin.orgId, fx.otherOrg?.orgId ?? admin.orgId];
    if (p.name === "memberId") return [fx.victimMem]; // never demote or remove the caller itself
    if (p.name === "invitationId") return [fx.invitation];
    if (o.path.startsWith("/api/v1/admin/jobs")) return ["db.optimize", "presence.expire", "idle.detect"];
    if (o.path.startsWith("/api/v1/members/")) return ["me", fx.selfMem, fx.victimMem];
    if (o.path.startsWith("/api/v1/auth/sessions/")) return [who.member.sessionId];
    if (o.path.startsWith("/api/v1/tokens/")) return [fx.pat];
    if (o.path.startsWith("/api/v1/agents/")) return [fx.spareAgent];
    const byPrefix: Record<string, string> = {
      prj: fx.project,
      tag: fx.tag,
      te: fx.entry,
      idl: fx.idle,
      scr: fx.screenshot,
    };
    return [byPrefix[ex.split("_")[0] as string] ?? ex];
  };

  const paramArb = fc.record(
    Object.fromEntries(params.map((p) => [p.name, fc.constantFrom(...pathPool(p)).map(enc)])) as Record<
      string,
      fc.Arbitrary<string>
    >,
  );
  const queryArb = fc
    .tuple(
      ...queries
        .filter((q) => q.required || !UNGUESSABLE.has(q.name))
        .map((q) => {
          const pair = validValue(q.schema, q.name, who.member, o).map(
            (v) => [q.name, enc(String(v))] as [string, string],
          );
          return q.required ? pair : fc.option(pair, { freq: 2, nil: undefined });
        }),
    )
    .map((qs) => {
      const out = qs.filter((x): x is [string, string] => x !== undefined);
      const from = out.find(([k]) => k === "from");
      const to = out.find(([k]) => k === "to");
      if (from && to && to[1] < from[1]) [from[1], to[1]] = [to[1], from[1]];
      return out;
    });
  const formFields = formBody
    ? {
        ...resolve(formBody),
        properties: Object.fromEntries(
          Object.entries(resolve(formBody).properties ?? {}).filter(([k]) => k !== "file"),
        ),
        required: [],
      }
    : undefined;
  const bodyArb: fc.Arbitrary<Json> = jsonBody
    ? validValue(jsonBody, "", who.member, o)
    : formFields
      ? validValue(formFields, "", who.member, o)
      : fc.constant(undefined);
  const base = fc.record({ params: paramArb, query: queryArb, body: bodyArb }) as fc.Arbitrary<Built>;

  const pngFile = (name = "s.png") => new File([png as BlobPart], name, { type: "image/png" });
  const finish = (b: Built, mutation: string, over: Partial<Req> = {}): Req => {
    let path = o.path;
    for (const [k, v] of Object.entries(b.params)) path = path.replace(`{${k}}`, v);
    const query = b.query.map(([k, v]) => (v === "\u0000novalue" ? k : `${k}=${v}`)).join("&");
    let body: Body = { kind: "none" };
    let bodyView = "";
    const headers: Record<string, string> = { ...who.headers };
    if (formBody && !bodyless) {
      const form = new FormData();
      form.set("file", pngFile());
      for (const [k, v] of Object.entries((b.body ?? {}) as Record<string, unknown>))
        form.set(k, typeof v === "string" ? v : JSON.stringify(v));
      body = { kind: "form", form };
      bodyView = `form(file=png, ${short(JSON.stringify(b.body), 120)})`;
    } else if (jsonBody && !bodyless && b.body !== undefined) {
      const text = JSON.stringify(b.body);
      body = { kind: "text", text };
      bodyView = short(text);
      headers["content-type"] = "application/json";
    }
    return { mutation, path, query, headers, body, bodyView, ...over };
  };
  const withHeaders = (r: Req, h: Record<string, string | null>): Req => {
    const headers = { ...r.headers };
    for (const [k, v] of Object.entries(h)) {
      if (v === null) delete headers[k];
      else headers[k] = v;
    }
    return { ...r, headers };
  };
  const rawBody = (b: Built, mutation: string, text: string, ct: string | null) =>
    withHeaders(finish(b, mutation, { body: { kind: "text", text }, bodyView: short(text) }), {
      "content-type": ct,
    });

  // ── fixed families: enumerated whole in the edge pass, drawn from in the random pass
  const families: { weight: number; cases: (b: Built) => Req[] }[] = [];
  const family = (weight: number, cases: (b: Built) => Req[]) => families.push({ weight, cases });

  family(4, (b) => [finish(b, "valid")]);

  if (params.length)
    family(4, (b) =>
      params.flatMap((p) =>
        [
          ...weirdPathSegments,
          fx.otherProject,
          fx.tag,
          fx.entry,
          fx.selfMem,
          fx.screenshot,
          fx.idle,
          fx.pat,
        ].map((v) =>
          finish({ ...b, params: { ...b.params, [p.name]: v } }, `path ${p.name}=${short(v, 40)}`),
        ),
      ),
    );

  const dateParams = queries
    .filter((q) => ["from", "to", "date", "week"].includes(q.name))
    .map((q) => q.name);
  if (dateParams.length) {
    // Each date parameter alone, `from` and `to` together, and all of them; the others left out.
    const groups = dateParams.length > 1 ? [...dateParams.map((n) => [n]), dateParams] : [dateParams];
    if (dateParams.length > 2 && dateParams.includes("from") && dateParams.includes("to"))
      groups.push(["from", "to"]);
    family(4, (b) =>
      groups.flatMap((names) =>
        EDGE_DATES.map((v) =>
          finish(
            {
              ...b,
              query: [
                ...b.query.filter(([k]) => !dateParams.includes(k)),
                ...names.map((n) => [n, v] as [string, string]),
              ],
            },
            `query dates ${names.join(",")}=${v}`,
          ),
        ),
      ),
    );
  }

  const qNames = queries.length ? queries.map((q) => q.name) : ["limit"];
  family(queries.length ? 2 : 1, (b) => [
    ...qNames.flatMap((k) =>
      ["[]", "[0]", "[a]", "%5B%5D", "."].map((suffix) =>
        finish({ ...b, query: [...b.query, [`${k}${suffix}`, "1"]] }, `query ${k}${suffix}`),
      ),
    ),
    ...qNames.map((k) => finish({ ...b, query: [...b.query, [k, "\u0000novalue"]] }, `query ${k} without =`)),
    ...["unknown", "__proto__", "constructor", "", "%00"].map((k) =>
      finish({ ...b, query: [...b.query, [k, "1"]] }, `query unknown ${k || "(empty)"}`),
    ),
    finish(b, "query garbage", { query: "&&=&%zz&a=%&%ED%A0%80=1" }),
  ]);

  if (jsonBody && !bodyless) {
    family(3, (b) =>
      [...weirdStructures, "str", 123, 0, -1].map((v) =>
        finish({ ...b, body: v }, `body is ${short(JSON.stringify(v), 30)}`),
      ),
    );
    family(3, (b) =>
      MALFORMED_JSON.map((text) => rawBody(b, `malformed JSON ${short(text, 30)}`, text, "application/json")),
    );
    family(3, (b) =>
      CONTENT_TYPES.map((ct) =>
        withHeaders(finish(b, `content-type ${ct ?? "(none)"}`), { "content-type": ct }),
      ),
    );
    family(1, (b) => [finish(b, "no body", { body: { kind: "none" }, bodyView: "" })]);
  }

  if (formBody && !bodyless) {
    const formReq = (b: Built, mutation: string, build: (f: FormData) => void): Req => {
      const form = new FormData();
      build(form);
      return { ...finish(b, mutation), body: { kind: "form", form }, bodyView: mutation };
    };
    const builds: [string, (f: FormData) => void][] = [
      ["form without file", (f) => f.set("title", "x")],
      ["form file as text field", (f) => f.set("file", "not a file")],
      ["form empty file", (f) => f.set("file", new File([], "e.png", { type: "image/png" }))],
      ["form text file", (f) => f.set("file", new File(["hello"], "e.png", { type: "image/png" }))],
      [
        "form truncated png",
        (f) => f.set("file", new File([png.slice(0, 40) as BlobPart], "t.png", { type: "image/png" })),
      ],
      [
        "form svg",
        (f) =>
          f.set(
            "file",
            new File(['<svg xmlns="http://www.w3.org/2000/svg"/>'], "s.svg", { type: "image/svg+xml" }),
          ),
      ],
      [
        "form two files",
        (f) => {
          f.append("file", pngFile("a.png"));
          f.append("file", pngFile("b.png"));
        },
      ],
      [
        "form unknown field",
        (f) => {
          f.set("file", pngFile());
          f.set("memberId", fx.victimMem);
        },
      ],
      [
        "form repeated takenAt",
        (f) => {
          f.set("file", pngFile());
          f.append("takenAt", "2026-03-02T08:00:00Z");
          f.append("takenAt", "275760-09-14T00:00:00Z");
        },
      ],
      [
        "form 6 MB file",
        (f) => f.set("file", new File([new Uint8Array(6 * 1024 * 1024)], "big.png", { type: "image/png" })),
      ],
      ["form file name huge", (f) => f.set("file", pngFile(`${"n".repeat(20_000)}.png`))],
    ];
    const raws: [string, string][] = [
      ["multipart/form-data", "garbage"],
      [
        "multipart/form-data; boundary=zzz",
        '--zzz\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
      ],
      ["multipart/form-data; boundary=zzz", "--zzz--"],
      ["multipart/form-data; boundary=", ""],
      ["application/json", JSON.stringify({ file: "x" })],
      ["application/octet-stream", "\u0089PNG"],
      ["text/plain", "hello"],
    ];
    family(6, (b) => [
      ...builds.map(([label, build]) => formReq(b, label, build)),
      ...raws.map(([ct, text]) => rawBody(b, `raw ${ct}`, text, ct)),
      { ...finish(b, "form no body"), body: { kind: "none" }, bodyView: "" },
    ]);
  }

  if (!jsonBody && !formBody && !bodyless)
    family(2, (b) =>
      ['{"x":1}', "{", HUGE, ""].map((text) =>
        rawBody(b, `undeclared body ${short(text, 20)}`, text, "application/json"),
      ),
    );

  const declared = Object.keys(doc.paths[o.path] ?? {}).map((m) => m.toUpperCase());
  family(1, (b) =>
    ["PUT", "PATCH", "POST", "DELETE", "OPTIONS", "HEAD", "FOO"]
      .filter((m) => !declared.includes(m))
      .map((m) =>
        finish(b, `method ${m}`, {
          method: m,
          ...(m === "HEAD" ? { body: { kind: "none" }, bodyView: "" } : {}),
        }),
      ),
  );
  family(1, (b) =>
    EXTRA_HEADERS.map((h) => withHeaders(finish(b, `header ${short(JSON.stringify(h), 50)}`), h)),
  );
  family(2, (b) =>
    AUTH_VARIANTS(o, who).map((h) =>
      withHeaders(finish(b, `auth ${h ? short(h.authorization ?? "", 30) : "(none)"}`), {
        authorization: h?.authorization ?? null,
      }),
    ),
  );

  // ── random families: a field of the body, or a query value, drawn from a large space
  const random: { weight: number; arbitrary: fc.Arbitrary<Req> }[] = families.map((f) => ({
    weight: f.weight,
    arbitrary: base.chain((b) => fc.constantFrom(...f.cases(b))),
  }));
  const bodySlots = (b: Built) => (jsonBody ? slots(b.body, jsonBody) : []);
  const present = (b: Built) =>
    bodySlots(b).filter(
      (s) =>
        s.reduce<unknown>((cur, k) => (cur as Record<string | number, unknown>)?.[k], b.body) !== undefined,
    );
  const setField = (b: Built, at: Slot, v: unknown) =>
    finish(
      { ...b, body: setAt(b.body, at, v) },
      `body ${at.join(".")}=${short(JSON.stringify(v) ?? "", 40)}`,
    );
  const dropField = (b: Built, at: Slot) =>
    finish({ ...b, body: deleteAt(b.body, at) }, `body missing ${at.join(".")}`);
  const extraField = (b: Built, at: Slot, k: string) => {
    const inner = at.reduce<unknown>((cur, seg) => (cur as Record<string | number, unknown>)?.[seg], b.body);
    const obj = inner && typeof inner === "object" && !Array.isArray(inner) ? (inner as object) : {};
    // A computed key makes even `__proto__` an own property, so JSON.stringify sends it.
    return finish(
      { ...b, body: setAt(b.body, at, { ...obj, [k]: "x" }) },
      `body unknown field ${[...at, k].join(".")}`,
    );
  };
  const objectSlots = (b: Built): Slot[] => [
    [],
    ...bodySlots(b).filter((s) => typeof s[s.length - 1] === "number"),
  ];
  const EXTRA_KEYS = ["extra", "__proto__", "constructor", "", "id", "orgId", "role", "userId", "createdAt"];
  if (jsonBody && !bodyless) {
    random.push({
      weight: 8,
      arbitrary: base.chain((b) => {
        const sl = bodySlots(b);
        return sl.length
          ? fc.tuple(fc.constantFrom(...sl), weirdValue).map(([at, v]) => setField(b, at, v))
          : fc.constant(extraField(b, [], "unknown"));
      }),
    });
    random.push({
      weight: 2,
      arbitrary: base.chain((b) => {
        const sl = present(b);
        return sl.length
          ? fc.constantFrom(...sl).map((at) => dropField(b, at))
          : fc.constant(finish({ ...b, body: {} }, "body empty object"));
      }),
    });
    random.push({
      weight: 2,
      arbitrary: base.chain((b) =>
        fc
          .tuple(fc.constantFrom(...objectSlots(b)), fc.constantFrom(...EXTRA_KEYS))
          .map(([at, k]) => extraField(b, at, k)),
      ),
    });
  }
  if (formFields && !bodyless) {
    const fields = Object.keys(formFields.properties ?? {});
    random.push({
      weight: 4,
      arbitrary: base.chain((b) =>
        fc.tuple(fc.constantFrom(...fields), weirdValue).map(([k, v]) => {
          const form = new FormData();
          form.set("file", pngFile());
          form.set(k, typeof v === "string" ? v : JSON.stringify(v));
          const label = `form ${k}=${short(JSON.stringify(v) ?? "", 40)}`;
          return { ...finish(b, label), body: { kind: "form", form } as Body, bodyView: label };
        }),
      ),
    });
  }
  random.push({
    weight: queries.length ? 4 : 1,
    arbitrary: base.chain((b) =>
      fc.oneof(
        fc
          .tuple(fc.constantFrom(...qNames), weirdQueryText)
          .map(([k, v]) =>
            finish(
              { ...b, query: [...b.query.filter(([q]) => q !== k), [k, v]] },
              `query ${k}=${short(v, 40)}`,
            ),
          ),
        fc
          .tuple(fc.constantFrom(...qNames), weirdQueryText, weirdQueryText)
          .map(([k, v1, v2]) =>
            finish({ ...b, query: [...b.query, [k, v1], [k, v2]] }, `query repeated ${k}`),
          ),
      ),
    ),
  });

  const edges = (b: Built): Req[] => {
    const out = families.flatMap((f) => f.cases(b));
    if (jsonBody && !bodyless) {
      for (const at of bodySlots(b)) for (const v of EDGE_VALUES) out.push(setField(b, at, v));
      for (const at of present(b)) out.push(dropField(b, at));
      for (const at of objectSlots(b)) out.push(extraField(b, at, "extra"));
    }
    if (formFields && !bodyless)
      for (const k of Object.keys(formFields.properties ?? {}))
        for (const v of EDGE_VALUES) {
          const form = new FormData();
          form.set("file", pngFile());
          form.set(k, typeof v === "string" ? v : JSON.stringify(v));
          const label = `form ${k}=${short(JSON.stringify(v) ?? "", 40)}`;
          out.push({ ...finish(b, label), body: { kind: "form", form }, bodyView: label });
        }
    for (const k of qNames)
      for (const v of ["", "-1", "0", "1e308", "NaN", "%00", "%zz", "%ED%A0%80", enc(HUGE)])
        out.push(
          finish(
            { ...b, query: [...b.query.filter(([q]) => q !== k), [k, v]] },
            `query ${k}=${short(v, 40)}`,
          ),
        );
    return out;
  };

  return { arb: fc.oneof(...random), base, edges };
}

// ───────────────────────────── sending and checking ─────────────────────────────

/**
 * A lone surrogate in a heartbeat's text is stored as invalid UTF-8 and the next read of it aborts
 * the whole process (a panic in libsql's Rust code): such requests would end this run, so they are
 * left to the crash probe below, which sends them in a child process.
 */
const abortsProcess = (o: Op, r: Req) =>
  o.path === "/api/v1/ingest/heartbeats" && r.body.kind === "text" && /\\ud[89a-f]/i.test(r.body.text);

/** Sends `r`, records every breach of the contract; the status (0 when the app threw, -1 skipped). */
async function send(o: Op, r: Req): Promise<number> {
  if (abortsProcess(o, r)) {
    stats.leftToProbe++;
    return -1;
  }
  const url = `${r.path}${r.query ? `?${r.query}` : ""}`;
  const method = r.method ?? o.method;
  const init: RequestInit = { method, headers: r.headers };
  if (r.body.kind === "text") init.body = new TextEncoder().encode(r.body.text);
  if (r.body.kind === "form") init.body = r.body.form;
  const requestView = `${method} ${short(url, 200)}${r.bodyView ? ` body=${r.bodyView}` : ""}${
    r.headers["content-type"] !== undefined && r.body.kind === "text"
      ? ` ct=${short(r.headers["content-type"], 40)}`
      : ""
  }`;
  const record = (status: number | string, reason: string, body: string) => {
    const code = /"code":"([A-Z_]+)"/.exec(body)?.[1] ?? "";
    const key = `${o.key}|${status}|${reason}|${code}`;
    const prev = failures.get(key);
    if (prev) {
      prev.count++;
      if (requestView.length < prev.request.length) prev.request = requestView;
      return;
    }
    failures.set(key, {
      op: o.key,
      mutation: r.mutation,
      request: requestView,
      status,
      reason,
      body: short(body, 300),
      count: 1,
    });
  };
  let request: Request;
  try {
    request = new Request(`http://localhost${url}`, init);
  } catch (err) {
    throw new Error(`the test built an unsendable request (${r.mutation}): ${err}`);
  }
  let res: Response;
  try {
    res = await t.app.request(request);
  } catch (err) {
    record("threw", "app.request rejected", String((err as Error)?.stack ?? err).slice(0, 300));
    return 0;
  }
  const text = await res.text();
  stats.requests++;
  stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
  if (process.env.FUZZ_TRACE)
    await appendFile(
      process.env.FUZZ_TRACE,
      `${res.status}\t${o.key}\t${r.mutation}\t${short(requestView, 300)}\t${short(text, 700)}\n`,
    );
  const per = stats.perOp[o.key] ?? {};
  stats.perOp[o.key] = per;
  per[res.status] = (per[res.status] ?? 0) + 1;
  const ct = res.headers.get("content-type") ?? "";
  if (res.status >= 500) {
    record(res.status, "5xx", text);
    return res.status;
  }
  if (res.status >= 400) {
    if (!ct.startsWith("application/problem+json")) {
      record(res.status, `4xx with content-type ${JSON.stringify(ct)}`, text);
      return res.status;
    }
    if (method === "HEAD") return res.status; // no body to check
    let problem: { status?: number; code?: string; errors?: { path?: unknown }[] };
    try {
      problem = JSON.parse(text);
    } catch {
      record(res.status, "problem body is not JSON", text);
      return res.status;
    }
    if (problem.status !== res.status || typeof problem.code !== "string")
      record(res.status, "problem body lacks status/code", text);
    if (res.status === 422) {
      const errs = problem.errors;
      if (!Array.isArray(errs) || errs.length === 0) record(422, "422 without errors[]", text);
      else if (errs.some((e) => typeof e?.path !== "string" || e.path.length === 0))
        record(422, "422 errors[] entry without a field path", text);
    }
  }
  return res.status;
}

test("every operation answers fuzzed requests with < 500, problem+json 4xx and field-naming 422s", async () => {
  expect(ops.length).toBeGreaterThanOrEqual(90);
  const started = performance.now();
  const perOp: string[] = [];
  for (const o of ops) {
    const opStart = performance.now();
    if (o.method === "DELETE" || o.op.parameters?.some((p) => p.in === "path")) await refreshFixtures();
    const destroying = CALLER_DESTROYING.has(o.key);
    const runs = Math.max(
      5,
      Math.round(
        RUNS * (destroying ? 25 : o.op.requestBody ? 150 : (o.op.parameters?.length ?? 0) > 0 ? 100 : 15),
      ),
    );
    const seed = SEED ^ [...o.key].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, 0);
    if (destroying) {
      // The caller is replaced after every request that was not refused (it may have logged out,
      // changed its password, switched organization…), so each request starts from live credentials.
      const space = async () => {
        const sp = requestSpace(o, await callerFor(o));
        return { sp, edges: sp.edges(fc.sample(sp.base, { seed, numRuns: 1 })[0] as Built) };
      };
      let { sp, edges } = await space();
      const edgeCount = edges.length;
      let used = 0;
      for (let i = 0; i < runs + edgeCount; i++) {
        const r = i < edgeCount ? edges[i] : fc.sample(sp.arb, { seed: seed + i, numRuns: 1 })[0];
        // Also every few refusals: wrong passwords and codes count towards a per-user lockout.
        const status = r ? await send(o, r) : 400;
        if ((status >= 0 && status < 400) || status === 429 || ++used % 4 === 0)
          ({ sp, edges } = await space());
      }
    } else {
      // Edge pass: every fixed mutation of one valid request.
      {
        const sp = requestSpace(o, await callerFor(o));
        const edges = sp.edges(fc.sample(sp.base, { seed, numRuns: 1 })[0] as Built);
        for (let i = 0; i < edges.length; i++) {
          // Deletions eat their target: re-create the fixtures every few requests so most hit a live row.
          if (o.method === "DELETE" && i > 0 && i % 25 === 0) await refreshFixtures();
          await send(o, edges[i] as Req);
        }
        await refreshFixtures();
      }
      // Random pass.
      const chunk = o.method === "DELETE" ? 10 : runs;
      for (let done = 0; done < runs; done += chunk) {
        if (done > 0) await refreshFixtures();
        const who = await callerFor(o);
        await fc.assert(
          fc.asyncProperty(requestSpace(o, who).arb, async (r) => {
            await send(o, r);
            return true; // every contract breach is recorded by `send`; one run reports them all
          }),
          { seed: seed + done, numRuns: Math.min(chunk, runs - done) },
        );
      }
    }
    const renewed = await ensureCredentials();
    perOp.push(
      `${(performance.now() - opStart).toFixed(0).padStart(6)} ms  ${o.key}${renewed.length ? ` (renewed ${renewed})` : ""}`,
    );
  }
  if (process.env.FUZZ_VERBOSE) {
    console.log(perOp.sort().reverse().slice(0, 15).join("\n"));
    for (const [k, v] of Object.entries(stats.perOp)) console.log(k.padEnd(55), JSON.stringify(v));
    console.log(
      `fuzz: ${stats.leftToProbe} left to the crash probe; ${stats.requests} requests over ${ops.length} operations in ${((performance.now() - started) / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...stats.byStatus].sort()))}`,
    );
  }
  const list = [...failures.values()]
    .sort((a, b) => a.op.localeCompare(b.op))
    .map(
      (f, i) =>
        `${i + 1}. ${f.op} → ${f.status} (${f.reason}; ${f.count}×, e.g. ${f.mutation})\n   request: ${f.request}\n   response: ${f.body}`,
    );
  if (list.length) throw new Error(`${list.length} contract failures:\n${list.join("\n")}`);
}, 180_000);

/**
 * The fuzzer's lone-surrogate heartbeats, in a child process: one of them aborts the process that
 * stores and then reads it, which no in-process assertion can catch.
 */
test("heartbeats whose text holds lone surrogates neither crash the process nor answer 5xx", async () => {
  const root = `${import.meta.dir}/../..`;
  const script = `
    const { createTestApp } = await import(${JSON.stringify(`${root}/test/support/app.ts`)});
    const { tracker } = await import(${JSON.stringify(`${root}/test/activity/support.ts`)});
    const t = await createTestApp();
    t.clock.set(${JSON.stringify(T0)});
    const who = await tracker(t, "member");
    let n = 0;
    for (const field of ["app", "title", "url"])
      // JSON escapes (the text holds a backslash, "u", four digits), as a client's JSON encoder sends them.
      for (const value of ["\\\\ud800", "x\\\\udfffy", "\\\\udbff"]) {
        const text = '{"heartbeats":[{"id":"s' + ++n + '","time":"2026-03-02T08:' + String(10 + n) + ':00Z","duration":30,"app":"Code","idle":false,"' + field + '":"' + value + '"}]}';
        const ingest = await t.app.request("/api/v1/ingest/heartbeats", { method: "POST", headers: { ...who.agent, "content-type": "application/json" }, body: text });
        console.log(JSON.stringify({ step: "ingest " + field + "=" + value, status: ingest.status }));
        await t.platform.drain(); // the group commit writes the batch after the answer
        for (const read of ["/timeline?date=2026-03-02", "/app-usage?date=2026-03-02"]) {
          const res = await t.app.request("/api/v1/members/me" + read, { headers: who.auth });
          console.log(JSON.stringify({ step: "GET " + read + " after " + field + "=" + value, status: res.status }));
        }
      }
    await t.close();
    console.log(JSON.stringify({ step: "end", status: 0 }));
  `;
  const proc = Bun.spawn([process.execPath, "-e", script], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const [out, err, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  const steps = out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { step: string; status: number });
  const panic = /panicked at [^\n]*\n[^\n]*/.exec(err)?.[0];
  expect({
    exitCode,
    panic,
    lastStep: steps.at(-1)?.step,
    serverErrors: steps.filter((s) => s.status >= 500),
  }).toEqual({ exitCode: 0, panic: undefined, lastStep: "end", serverErrors: [] });
}, 60_000);
