import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { heartbeats, memberships } from "../../src/db/schema";
import { writeThreadOf } from "../../src/db/write-thread";
import type { DomainEvent } from "../../src/events/types";
import { firstKey, planIngest, readIngestState, writeIngest } from "../../src/modules/activity/ingest.repo";
import { commitIngest, ingestWriter } from "../../src/modules/activity/ingest.writer";
import { isGuardFailure } from "../../src/modules/time/time.db";
import { createTestApp, type TestApp } from "../support/app";
import { tempDir } from "../support/process";
import { createAgent, createPat } from "../tokens/support";
import { modelPieces } from "./model";
import {
  type Hb,
  hb,
  ingest,
  post,
  setSettings,
  storedHeartbeats,
  storedPieces,
  storedSpans,
  tracker,
} from "./support";

const at = (hhmmss: string) => `2026-03-02T${hhmmss}Z`;
/** A stored-form heartbeat (as bulk loaders pass to writeIngest). */
const stored = (clientId: string, time: string) => ({
  clientId,
  time: Date.parse(time),
  durationMs: 30_000,
  app: "Code",
  title: "main.ts",
  url: null,
  domain: null,
  idle: false,
  keyboard: 1,
  mouse: 1,
});

let t: TestApp;

/**
 * Every test below runs on two databases: in memory (ingest commits on the server's connection)
 * and a file, where the platform commits ingest's write batches on its write thread
 * (src/adapters/db/write-thread.ts). The behaviour must be the same.
 */
const databases: [string, () => Record<string, string>][] = [
  ["in-memory database", () => ({})],
  [
    "file database, ingest committed on the write thread",
    () => {
      const dir = tempDir("tt-ingest-");
      return { DATABASE_URL: `file:${join(dir, "t.db")}`, DATA_DIR: dir };
    },
  ],
];

describe.each(databases)("%s", (name, env) => {
  beforeAll(async () => {
    t = await createTestApp(env());
    t.clock.set("2026-03-02T12:00:00Z");
  });
  afterAll(() => t?.close());

  test("ingest commits on the write thread exactly when the database is a file", async () => {
    const thread = writeThreadOf(t.platform.db);
    expect(thread !== null).toBe(name !== "in-memory database");
    const before = thread?.committed ?? 0;
    const who = await tracker(t);
    expect((await ingest(t, who, [hb(at("09:00:00"), { duration: 30 })])).accepted).toBe(1);
    expect(await storedHeartbeats(t, who.memberId)).toHaveLength(1);
    if (thread) expect(thread.committed).toBeGreaterThan(before);
  });

  describe("POST /api/v1/ingest/heartbeats: idempotency", () => {
    test("a retried batch adds nothing (row counts), and repeats within a batch count once", async () => {
      const who = await tracker(t);
      const batch = [hb(at("09:00:00")), hb(at("09:00:30")), hb(at("09:01:00"))];
      expect(await ingest(t, who, batch)).toMatchObject({ accepted: 3, duplicates: 0, dropped: 0 });
      const spansBefore = await storedSpans(t, who.memberId);
      expect(await ingest(t, who, batch)).toMatchObject({ accepted: 0, duplicates: 3 });
      expect(await storedHeartbeats(t, who.memberId)).toHaveLength(3);
      expect(await storedSpans(t, who.memberId)).toEqual(spansBefore);

      const extra = hb(at("09:01:30"));
      expect(await ingest(t, who, [extra, extra, batch[0] as (typeof batch)[0]])).toMatchObject({
        accepted: 1,
        duplicates: 2,
      });
      expect(await storedHeartbeats(t, who.memberId)).toHaveLength(4);
    });

    test("the same client id from two members is two heartbeats", async () => {
      const a = await tracker(t);
      const b = await tracker(t, "member", { orgId: a.orgId });
      const shared = hb(at("09:00:00"), { id: "same-id" });
      expect((await ingest(t, a, [shared])).accepted).toBe(1);
      expect((await ingest(t, b, [shared])).accepted).toBe(1);
    });

    test("a heartbeat is its id at its time: another time is another heartbeat, another notation of the time is not", async () => {
      const who = await tracker(t);
      const first = hb(at("09:00:00"), { id: "hb-1" });
      expect(await ingest(t, who, [first])).toMatchObject({ accepted: 1, duplicates: 0 });
      // The same instant written with an offset and milliseconds: a retry of the same heartbeat.
      const sameInstant = { ...first, time: "2026-03-02T10:00:00.000+01:00" };
      expect(await ingest(t, who, [sameInstant])).toMatchObject({ accepted: 0, duplicates: 1 });
      // The id again at another time, twice in one batch (counted once), and once more out of order
      // (read path: the stored keys are matched by id and time, not by id alone).
      const later = hb(at("09:00:30"), { id: "hb-1" });
      expect(await ingest(t, who, [later, later])).toMatchObject({ accepted: 1, duplicates: 1 });
      const earlier = hb(at("08:59:30"), { id: "hb-1" });
      expect(await ingest(t, who, [earlier, first])).toMatchObject({ accepted: 1, duplicates: 1 });
      // One batch holding an id at two times: two heartbeats.
      const twice = [hb(at("09:01:00"), { id: "hb-2" }), hb(at("09:01:30"), { id: "hb-2" })];
      expect(await ingest(t, who, twice)).toMatchObject({ accepted: 2, duplicates: 0 });
      // Bulk loaders (writeIngest, the seed) use the same key.
      const bulk = (rows: [string, string][]) =>
        writeIngest(t.platform.db, {
          orgId: who.orgId,
          memberId: who.memberId,
          now: t.clock.now().getTime(),
          pulsetimeMs: 60_000,
          idleThresholdMs: 300_000,
          heartbeats: rows.map(([id, time]) => stored(id, time)),
        });
      const hb3 = ["hb-3", at("09:02:00")] as [string, string];
      expect((await bulk([hb3, ["hb-3", at("09:02:30")], hb3])).inserted).toBe(2);
      expect((await bulk([hb3, ["hb-3", at("09:03:00")]])).inserted).toBe(1);
      const rows = await storedHeartbeats(t, who.memberId);
      expect(rows.map((h) => [h.clientId, new Date(h.time).toISOString().slice(11, 19)])).toEqual([
        ["hb-1", "08:59:30"],
        ["hb-1", "09:00:00"],
        ["hb-1", "09:00:30"],
        ["hb-2", "09:01:00"],
        ["hb-2", "09:01:30"],
        ["hb-3", "09:02:00"],
        ["hb-3", "09:02:30"],
        ["hb-3", "09:03:00"],
      ]);
    });
  });

  describe("spans (ActivityWatch merge)", () => {
    test("equal heartbeats within pulsetime merge into one span; a gap or a change starts a new one", async () => {
      const who = await tracker(t);
      await ingest(t, who, [
        hb(at("09:00:00"), { duration: 10 }),
        hb(at("09:00:50")), // 40 s after the span's end (≤ 60 s pulsetime): merged
        hb(at("09:01:40"), { duration: 5 }), // 50 s after: merged, span ends 09:01:45
        hb(at("09:03:00")), // 75 s after 09:01:45 > 60 s: new span
        hb(at("09:03:20"), { title: "other.ts", duration: 30 }), // different title: new span
        hb(at("09:03:30"), { idle: true, duration: 60 }), // idle: new span, clips the previous at 09:03:30
      ]);
      expect(await storedSpans(t, who.memberId)).toEqual([
        {
          start: at("09:00:00.000"),
          end: at("09:01:45.000"),
          app: "Code",
          title: "main.ts",
          idle: false,
          heartbeats: 3,
        },
        {
          start: at("09:03:00.000"),
          end: at("09:03:00.000"),
          app: "Code",
          title: "main.ts",
          idle: false,
          heartbeats: 1,
        },
        {
          start: at("09:03:20.000"),
          end: at("09:03:30.000"),
          app: "Code",
          title: "other.ts",
          idle: false,
          heartbeats: 1,
        },
        {
          start: at("09:03:30.000"),
          end: at("09:04:30.000"),
          app: "Code",
          title: "main.ts",
          idle: true,
          heartbeats: 1,
        },
      ]);
    });

    test("the organization's pulsetime decides the merge", async () => {
      const who = await tracker(t);
      await setSettings(t, who.orgId, { pulsetimeSeconds: 10 });
      await ingest(t, who, [hb(at("09:00:00")), hb(at("09:00:10")), hb(at("09:00:25"))]);
      expect((await storedSpans(t, who.memberId)).map((s) => [s.start, s.end])).toEqual([
        [at("09:00:00.000"), at("09:00:10.000")],
        [at("09:00:25.000"), at("09:00:25.000")],
      ]);
    });

    test("a late heartbeat joins the spans around it as if it had come in order", async () => {
      const who = await tracker(t);
      await ingest(t, who, [hb(at("10:00:00"), { duration: 30 }), hb(at("10:02:00"), { duration: 30 })]);
      expect(await storedSpans(t, who.memberId)).toHaveLength(2);
      // Bridges the gap: 10:01:00 is ≤ 60 s after 10:00:30, and 10:02:00 ≤ 60 s after 10:01:30.
      await ingest(t, who, [hb(at("10:01:00"), { duration: 30 })]);
      expect(await storedSpans(t, who.memberId)).toEqual([
        {
          start: at("10:00:00.000"),
          end: at("10:02:30.000"),
          app: "Code",
          title: "main.ts",
          idle: false,
          heartbeats: 3,
        },
      ]);
      // A late heartbeat of another app splits it again and clips the first part.
      await ingest(t, who, [hb(at("10:01:10"), { app: "Slack", duration: 20 })]);
      expect((await storedSpans(t, who.memberId)).map((s) => [s.app, s.start, s.end])).toEqual([
        ["Code", at("10:00:00.000"), at("10:01:10.000")],
        ["Slack", at("10:01:10.000"), at("10:01:30.000")],
        ["Code", at("10:02:00.000"), at("10:02:30.000")],
      ]);
    });
  });

  describe("concurrency", () => {
    test("concurrent batches of one member from two devices: every heartbeat kept, spans as if sequential", async () => {
      const who = await tracker(t);
      const second = await createAgent(t, who, "Desktop");
      const two = { ...who, agent: { authorization: `Bearer ${second.token}` } };
      const base = Date.parse(at("08:00:00"));
      const all = Array.from({ length: 60 }, (_, i) =>
        hb(base + i * 20_000, { duration: 20, app: i % 15 < 10 ? "Code" : "Slack", id: `cc-${i}` }),
      );
      // Interleaved: device one sends even heartbeats, device two odd ones, six batches each at once.
      const batches = Array.from({ length: 6 }, (_, b) => all.filter((_, i) => Math.floor(i / 10) === b));
      const results = await Promise.all(
        batches.flatMap((batch) => [
          ingest(
            t,
            who,
            batch.filter((_, i) => i % 2 === 0),
          ),
          ingest(
            t,
            two,
            batch.filter((_, i) => i % 2 === 1),
          ),
        ]),
      );
      expect(results.reduce((n, r) => n + r.accepted, 0)).toBe(60);
      expect(await storedHeartbeats(t, who.memberId)).toHaveLength(60);
      const expected = modelPieces(
        all.map((h) => ({
          id: h.id,
          time: Date.parse(h.time),
          durationMs: h.duration * 1000,
          app: h.app,
          title: h.title ?? null,
          url: null,
          idle: h.idle,
        })),
        60_000,
      );
      expect(await storedPieces(t, who.memberId)).toEqual(expected);
    });
  });

  /** A plan for `who` of one new heartbeat at `time`, made on the state read now. */
  const planFor = async (who: Awaited<ReturnType<typeof tracker>>, id: string, time: string) => {
    const rows = [{ ...stored(id, time), keyboard: null, mouse: null }];
    const state = await readIngestState(t.platform.db, {
      orgId: who.orgId,
      member: { id: who.memberId },
      first: firstKey(rows),
      keys: rows,
    });
    return planIngest(state, rows, {
      orgId: who.orgId,
      memberId: who.memberId,
      now: t.clock.now().getTime(),
      pulsetimeMs: 60_000,
      idleThresholdMs: 300_000,
      status: state.member?.status ?? "offline",
      agentId: "",
    });
  };

  describe("optimistic lock", () => {
    test("a write planned on a state that moved is refused whole (guard), nothing of it stored", async () => {
      const who = await tracker(t);
      await ingest(t, who, [hb(at("08:00:00"), { duration: 30 })]);
      const plan = await planFor(who, "lock-a", at("08:00:30"));
      await ingest(t, who, [hb(at("08:01:00"), { duration: 30 })]); // moves the version
      const err = await commitIngest(t.platform.db, plan).catch((e: unknown) => e);
      expect(isGuardFailure(err)).toBe(true);
      expect((await storedHeartbeats(t, who.memberId)).map((h) => h.clientId)).not.toContain("lock-a");
    });

    test("the in-order fast path notices a write it did not make and falls back to reading", async () => {
      const who = await tracker(t);
      const base = Date.parse(at("07:00:00"));
      const hbs = Array.from({ length: 9 }, (_, i) => hb(base + i * 30_000, { duration: 30, id: `fp-${i}` }));
      await ingest(t, who, hbs.slice(0, 3)); // this process now holds the member's tail
      // Another writer (another instance, or the seed) adds the next three.
      await writeIngest(t.platform.db, {
        orgId: who.orgId,
        memberId: who.memberId,
        now: t.clock.now().getTime(),
        pulsetimeMs: 60_000,
        idleThresholdMs: 300_000,
        heartbeats: hbs.slice(3, 6).map((h) => stored(h.id, h.time)),
      });
      // In order after the tail, but the tail is stale: the guard refuses, the regular path stores it.
      expect((await ingest(t, who, hbs.slice(6))).accepted).toBe(3);
      // A retried batch on the fast path: the "all new" guard refuses, the regular path counts duplicates.
      expect(await ingest(t, who, hbs.slice(6))).toMatchObject({ accepted: 0, duplicates: 3 });
      expect(await storedSpans(t, who.memberId)).toEqual([
        {
          start: at("07:00:00.000"),
          end: at("07:04:30.000"),
          app: "Code",
          title: "main.ts",
          idle: false,
          heartbeats: 9,
        },
      ]);
    });
  });

  describe("group commit", () => {
    test("concurrent ingests of many members are committed together, each stored as if alone", async () => {
      const first = await tracker(t);
      const crew = [
        first,
        ...(await Promise.all(
          Array.from({ length: 11 }, () => tracker(t, "member", { orgId: first.orgId })),
        )),
      ];
      const writer = ingestWriter(t.platform.db);
      const before = { ...writer.stats };
      const batches = crew.map((_, i) => [
        hb(at("11:58:00"), { duration: 30, id: `grp-${i}-a` }),
        hb(at("11:58:30"), { duration: 30, id: `grp-${i}-b` }),
        hb(at("11:59:00"), { duration: 30, app: "Slack", id: `grp-${i}-c` }),
      ]);
      const results = await Promise.all(crew.map((who, i) => ingest(t, who, batches[i] as Hb[])));
      expect(results.every((r) => r.accepted === 3 && r.status === "active")).toBe(true);
      // Fewer commits than requests: they shared groups.
      expect(writer.stats.writes - before.writes).toBe(12);
      expect(writer.stats.groups - before.groups).toBeLessThan(12);
      expect(writer.stats.largest).toBeGreaterThan(1);
      for (const [i, who] of crew.entries()) {
        expect((await storedHeartbeats(t, who.memberId)).map((h) => h.clientId)).toEqual([
          `grp-${i}-a`,
          `grp-${i}-b`,
          `grp-${i}-c`,
        ]);
        expect(await storedSpans(t, who.memberId)).toEqual([
          {
            start: at("11:58:00.000"),
            end: at("11:59:00.000"),
            app: "Code",
            title: "main.ts",
            idle: false,
            heartbeats: 2,
          },
          {
            start: at("11:59:00.000"),
            end: at("11:59:30.000"),
            app: "Slack",
            title: "main.ts",
            idle: false,
            heartbeats: 1,
          },
        ]);
        const [m] = await t.platform.db.select().from(memberships).where(eq(memberships.id, who.memberId));
        expect(m?.status).toBe("active");
        expect(m?.lastSeenAt?.getTime()).toBe(t.clock.now().getTime());
      }
    });

    test("one moved state in a group refuses only that member's write; the others are stored", async () => {
      const first = await tracker(t);
      const [second, third] = await Promise.all([
        tracker(t, "member", { orgId: first.orgId }),
        tracker(t, "member", { orgId: first.orgId }),
      ]);
      await ingest(t, first, [hb(at("11:57:00"), { duration: 30 })]);
      const stale = await planFor(first, "grp-stale", at("11:57:30"));
      await ingest(t, first, [hb(at("11:58:00"), { duration: 30 })]); // moves first's version
      const plans = [
        stale,
        await planFor(second, "grp-ok-2", at("11:57:30")),
        await planFor(third, "grp-ok-3", at("11:57:30")),
      ];
      const writer = ingestWriter(t.platform.db);
      const retried = writer.stats.retriedOneByOne;
      const groups = writer.stats.groups;
      const [a, b, c] = await Promise.allSettled(plans.map((p) => writer.submit(p)));
      expect(a?.status).toBe("rejected");
      expect(isGuardFailure((a as PromiseRejectedResult).reason)).toBe(true);
      expect(b).toEqual({ status: "fulfilled", value: "active" });
      expect(c).toEqual({ status: "fulfilled", value: "active" });
      expect(writer.stats.groups - groups).toBe(1);
      expect(writer.stats.retriedOneByOne - retried).toBe(1);
      expect((await storedHeartbeats(t, first.memberId)).map((h) => h.clientId)).not.toContain("grp-stale");
      expect((await storedHeartbeats(t, second.memberId)).map((h) => h.clientId)).toEqual(["grp-ok-2"]);
      expect((await storedHeartbeats(t, third.memberId)).map((h) => h.clientId)).toEqual(["grp-ok-3"]);
    });

    test("a heartbeat already stored fails the group's all-new guard; the retry stores the rest", async () => {
      const first = await tracker(t);
      const second = await tracker(t, "member", { orgId: first.orgId });
      const dupe = await planFor(first, "grp-dupe", at("11:59:00"));
      const fresh = await planFor(second, "grp-fresh", at("11:59:00"));
      // Another writer stores first's heartbeat after the plan was made (without moving its version:
      // straight into the table), so only "every heartbeat is new" can notice.
      await t.platform.db.insert(heartbeats).values({
        orgId: first.orgId,
        memberId: first.memberId,
        clientId: "grp-dupe",
        time: Date.parse(at("11:59:00")),
        durationMs: 30_000,
        app: "Code",
        idle: false,
        receivedAt: t.clock.now().getTime(),
      });
      const writer = ingestWriter(t.platform.db);
      const [a, b] = await Promise.allSettled([writer.submit(dupe), writer.submit(fresh)]);
      expect(isGuardFailure((a as PromiseRejectedResult).reason)).toBe(true);
      expect(b).toEqual({ status: "fulfilled", value: "active" });
      expect(await storedSpans(t, first.memberId)).toEqual([]);
      expect((await storedHeartbeats(t, second.memberId)).map((h) => h.clientId)).toEqual(["grp-fresh"]);
    });
  });

  describe("validation", () => {
    const problem = async (body: unknown) => {
      const who = await tracker(t);
      const res = await post(t, who.agent, body);
      const json = (await res.json()) as { code: string; errors?: { path: string }[] };
      return { status: res.status, code: json.code, paths: (json.errors ?? []).map((e) => e.path) };
    };

    test("unknown fields and bad values are 422 naming the path", async () => {
      const hbs = [
        hb(at("09:00:00")),
        hb(at("09:00:10")),
        hb(at("09:00:20")),
        { ...hb(at("09:00:30")), colour: "red" },
      ];
      expect(await problem({ heartbeats: hbs })).toEqual({
        status: 422,
        code: "VALIDATION_FAILED",
        paths: ["heartbeats.3.colour"],
      });
      const bad = [
        hb(at("09:00:00")),
        { ...hb(at("09:00:10")), time: "yesterday" },
        { ...hb(at("09:00:20")), duration: -1 },
      ];
      expect((await problem({ heartbeats: bad })).paths).toEqual([
        "heartbeats.1.time",
        "heartbeats.2.duration",
      ]);
      expect((await problem({ heartbeats: [{ ...hb(at("09:00:00")), app: "" }] })).paths).toEqual([
        "heartbeats.0.app",
      ]);
      expect((await problem({ heartbeats: [{ ...hb(at("09:00:00")), title: "a\u0007b" }] })).paths).toEqual([
        "heartbeats.0.title",
      ]);
      expect((await problem({ heartbeats: [hb(at("09:00:00"))], extra: 1 })).paths).toEqual(["extra"]);
    });

    test("batch size is 1–500; a heartbeat more than 10 minutes ahead of the server is refused", async () => {
      expect((await problem({ heartbeats: [] })).paths).toEqual(["heartbeats"]);
      const many = Array.from({ length: 501 }, (_, i) => hb(Date.parse(at("09:00:00")) + i * 1000));
      expect((await problem({ heartbeats: many })).paths).toEqual(["heartbeats"]);
      const future = [hb(at("11:00:00")), hb(at("12:09:00")), hb(at("12:11:00"))];
      expect(await problem({ heartbeats: future })).toEqual({
        status: 422,
        code: "VALIDATION_FAILED",
        paths: ["heartbeats.2.time"],
      });
      // Before 2000 and too far ahead, each named; nothing of the batch is stored.
      const who = await tracker(t);
      const ancient = [hb(at("09:00:00")), hb("1999-12-31T23:59:59Z"), hb(at("12:11:00"))];
      const res = await post(t, who.agent, { heartbeats: ancient });
      expect(res.status).toBe(422);
      const body = (await res.json()) as { errors: { path: string; message: string }[] };
      expect(body.errors.map((e) => [e.path, e.message])).toEqual([
        ["heartbeats.1.time", "must be after 2000-01-01"],
        ["heartbeats.2.time", "must not be more than 10 minutes in the future"],
      ]);
      expect(await storedHeartbeats(t, who.memberId)).toHaveLength(0);
    });

    test("500 heartbeats in one batch are stored and merged", async () => {
      const who = await tracker(t);
      const many = Array.from({ length: 500 }, (_, i) =>
        hb(Date.parse(at("08:00:00")) + i * 5000, { duration: 5 }),
      );
      expect((await ingest(t, who, many)).accepted).toBe(500);
      expect(await storedSpans(t, who.memberId)).toHaveLength(1);
    });

    test("only agent tokens may ingest: a personal access token with every scope is 403", async () => {
      const who = await tracker(t, "admin");
      const pat = await createPat(t, who, {
        scopes: ["members:read", "members:write", "own:write", "data:read"],
      });
      const res = await post(
        t,
        { authorization: `Bearer ${pat.token}` },
        { heartbeats: [hb(at("09:00:00"))] },
      );
      expect(res.status).toBe(403);
      expect(await storedHeartbeats(t, who.memberId)).toHaveLength(0);
    });

    test("an agent whose member was demoted to viewer no longer tracks (403)", async () => {
      const who = await tracker(t);
      await t.platform.db.update(memberships).set({ role: "viewer" }).where(eq(memberships.id, who.memberId));
      const res = await post(t, who.agent, { heartbeats: [hb(at("09:00:00"))] });
      expect(res.status).toBe(403);
      expect(await storedHeartbeats(t, who.memberId)).toHaveLength(0);
    });
  });

  describe("privacy rules (applied before storage)", () => {
    test("drop discards matching heartbeats; redact stores [redacted]; a redacted url keeps no domain", async () => {
      const who = await tracker(t);
      await setSettings(t, who.orgId, {
        privacyRules: JSON.stringify([
          { field: "title", pattern: "[Pp]ayroll", action: "redact" },
          { field: "url", pattern: "^https://bank\\.", action: "drop" },
          { field: "app", pattern: "^1Password$", action: "drop" },
          { field: "url", pattern: "/private/", action: "redact" },
        ]),
      });
      const out = await ingest(t, who, [
        hb(at("09:00:00"), { id: "p1", title: "Payroll March.xlsx", app: "Excel" }),
        hb(at("09:00:10"), {
          id: "p2",
          url: "https://bank.example.com/login",
          app: "Firefox",
          title: "Login",
        }),
        hb(at("09:00:20"), { id: "p3", app: "1Password", title: "Vault" }),
        hb(at("09:00:30"), {
          id: "p4",
          url: "https://intranet.example.com/private/x",
          app: "Firefox",
          title: "HR",
        }),
        hb(at("09:00:40"), { id: "p5", url: "https://www.GitHub.com/a", app: "Firefox", title: "PRs" }),
      ]);
      expect(out).toMatchObject({ accepted: 3, dropped: 2, duplicates: 0 });
      const rows = await storedHeartbeats(t, who.memberId);
      expect(rows.map((r) => [r.clientId, r.app, r.title, r.url, r.domain])).toEqual([
        ["p1", "Excel", "[redacted]", null, null],
        ["p4", "Firefox", "HR", "[redacted]", null],
        ["p5", "Firefox", "PRs", "https://www.GitHub.com/a", "github.com"],
      ]);
      const all = JSON.stringify(await t.platform.db.select().from(heartbeats));
      expect(all).not.toContain("Payroll");
      expect(all).not.toContain("bank.example.com");
      expect(all).not.toContain("/private/");
    });
  });

  describe("presence at ingest", () => {
    test("sets last seen (receipt time) and active/idle, emitting member.status_changed", async () => {
      const who = await tracker(t);
      const seen: DomainEvent[] = [];
      const off = t.services.events.on("member.status_changed", (e) => void seen.push(e));
      const member = async () =>
        (await t.platform.db.select().from(memberships).where(eq(memberships.id, who.memberId)))[0];
      expect((await member())?.status).toBe("offline");

      expect((await ingest(t, who, [hb(at("11:59:30"), { duration: 30, keyboard: 5 })])).status).toBe(
        "active",
      );
      expect((await member())?.lastSeenAt?.toISOString()).toBe(at("12:00:00.000"));
      // Input stopped 6 minutes ago (threshold 300 s): idle, though these heartbeats are not idle.
      t.clock.set(at("12:06:00"));
      expect(
        (await ingest(t, who, [hb(at("12:05:30"), { duration: 30, keyboard: 0, mouse: 0 })])).status,
      ).toBe("idle");
      t.clock.set(at("12:06:30"));
      expect((await ingest(t, who, [hb(at("12:06:00"), { duration: 30, mouse: 3 })])).status).toBe("active");
      // The newest heartbeat says idle: idle at once.
      expect((await ingest(t, who, [hb(at("12:06:20"), { idle: true })])).status).toBe("idle");
      // A late (older) non-idle heartbeat does not override the newest one.
      expect((await ingest(t, who, [hb(at("12:06:10"), { mouse: 1 })])).status).toBe("idle");
      await t.platform.drain();
      off();
      expect(
        seen.map((e) => [e.orgId, (e.payload as { from: string }).from, (e.payload as { to: string }).to]),
      ).toEqual([
        [who.orgId, "offline", "active"],
        [who.orgId, "active", "idle"],
        [who.orgId, "idle", "active"],
        [who.orgId, "active", "idle"],
      ]);
      t.clock.set("2026-03-02T12:00:00Z");
    });
  });

  test("on a file database the write thread carried every ingest of the suite (it never fell back)", () => {
    const thread = writeThreadOf(t.platform.db);
    if (name === "in-memory database") expect(thread).toBeNull();
    else {
      expect(thread?.usable).toBe(true);
      expect(thread?.committed).toBeGreaterThan(20);
    }
  });
});
