/**
 * One storage suite, run unchanged against every libSQL mode the Bun build supports: a local file,
 * `:memory:`, and a real libSQL server (sqld) over http://. The same repository code (job runs,
 * durable events, dev mail outbox, migrations) and the same atomicity guarantee (`db.batch`) must
 * hold on each. D1 under Miniflare is covered by the worker test.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { z } from "zod";
import type { DbDialect } from "../src/db/client";
import { migrate, pendingMigrations } from "../src/db/migrate";
import { migrations } from "../src/db/migrations.generated";
import { mailOutbox, outboxEvents } from "../src/db/schema";
import { EventBus } from "../src/events/bus";
import { defineJob } from "../src/jobs/define";
import { JobRunner } from "../src/jobs/runner";
import { newId } from "../src/lib/ids";
import { decodeCursor, pageOf } from "../src/lib/pagination";
import { createBunPlatform } from "../src/platform/bun";
import { ManualClock } from "../src/ports/clock";
import type { Platform } from "../src/ports/platform";
import { LogCapture, testConfig } from "./support/app";
import { stopAll, tempDir } from "./support/process";
import { requires } from "./support/requirements";
import { type SqldServer, sqldBinary, startSqld } from "./support/tools";

afterAll(stopAll);

const SECOND = 1_000;

function mailRow(id: string, at: Date) {
  return {
    id,
    to: "a@example.com",
    from: "t@example.com",
    subject: "s",
    text: "t",
    html: "<p>t</p>",
    template: null,
    createdAt: at,
  };
}

function storageSuite(name: string, dialect: DbDialect, databaseUrl: () => string) {
  describe(`storage on ${name}`, () => {
    const clock = new ManualClock("2026-03-02T10:00:00.000Z");
    const logs = new LogCapture();
    let platform: Platform;
    let seq = 0;
    /** A consumer/job name unique to the test, so tests sharing this database never see each other's rows. */
    const unique = (prefix: string) => `${prefix}-${name.toLowerCase().replace(/[^a-z0-9]/g, "")}-${++seq}`;
    const busFor = (maxAttempts?: number) =>
      new EventBus(
        { db: platform.db, clock, logger: platform.logger, defer: (p) => platform.defer(p) },
        maxAttempts,
      );

    beforeAll(async () => {
      platform = await createBunPlatform(
        testConfig({ DATABASE_URL: databaseUrl(), DATA_DIR: tempDir("tt-storage-") }),
        {
          clock,
          logDestination: logs,
          runtime: "memory",
        },
      );
    });
    afterAll(() => platform?.close());

    test("opens with the expected dialect and applies the migrations at start-up", () => {
      expect(platform.dbDialect).toBe(dialect);
      const applied = logs.lines.find((l) => l.msg === "migrations applied");
      expect(applied?.applied).toEqual(migrations.map((m) => m.tag));
      // A database server and no bucket: screenshots would stay on this instance's disk — said once.
      const local = logs.lines.filter((l) => l.variable === "S3_BUCKET" && l.level === "warn");
      expect(local).toHaveLength(dialect === "libsql-remote" ? 1 : 0);
    });

    test("migrate() a second time applies nothing and nothing is pending", async () => {
      expect(await migrate(platform.db, migrations)).toEqual({ applied: [] });
      expect(await pendingMigrations(platform.db, migrations)).toEqual([]);
      const rows = await platform.db.all<{ hash: string }>(
        sql.raw("SELECT hash FROM `__drizzle_migrations` ORDER BY created_at"),
      );
      expect(rows.map((r) => r.hash)).toEqual(migrations.map((m) => m.hash));
    });

    test("JobRunner records runs (success and failure) and pages through them newest first", async () => {
      const okId = `storage.${unique("ok")}`;
      const failId = `storage.${unique("fail")}`;
      let n = 0;
      const runner = new JobRunner(platform, busFor());
      runner.register(
        defineJob({ id: okId, cron: "* * * * *", description: "counts", run: async () => ({ n: ++n }) }),
        defineJob({
          id: failId,
          cron: "* * * * *",
          description: "fails",
          run: async () => Promise.reject(new Error("disk on fire")),
        }),
      );

      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const outcome = await runner.run(okId, { trigger: i % 2 ? "manual" : "cli" });
        if (outcome.status === "skipped") throw new Error(`skipped: ${outcome.reason}`);
        expect(outcome.run).toMatchObject({
          jobId: okId,
          status: "succeeded",
          result: JSON.stringify({ n: i + 1 }),
        });
        expect(outcome.run.finishedAt).toBeInstanceOf(Date);
        ids.push(outcome.run.id);
        // Two runs share a millisecond: the id breaks the tie in the keyset.
        if (i !== 2) clock.advance(SECOND);
      }

      const failed = await runner.run(failId, { trigger: "manual" });
      expect(failed).toMatchObject({
        status: "failed",
        run: { status: "failed", error: "disk on fire", result: null },
      });

      // Same paging as GET /admin/jobs/{id}/runs: limit + 1 rows, cursor from the last row served.
      const Cursor = z.object({ s: z.number().int(), i: z.string() });
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const before: { s: number; i: string } | undefined = cursor
          ? decodeCursor(cursor, Cursor)
          : undefined;
        const rows = await runner.runs(okId, 2, before ? { startedAt: before.s, id: before.i } : undefined);
        const page = pageOf(rows, 2, (r) => ({ s: r.startedAt.getTime(), i: r.id }));
        seen.push(...page.data.map((r) => r.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      const newestFirst = [...ids].reverse();
      // Within the shared millisecond order is by id (descending); across it by time.
      const tie = [ids[2]!, ids[3]!].sort().reverse();
      expect(seen).toEqual([newestFirst[0]!, ...tie, newestFirst[3]!, newestFirst[4]!]);

      const last = await runner.lastRuns();
      expect(last[okId]?.id).toBe(ids[4]);
      expect(last[failId]?.status).toBe("failed");
    });

    test("durable consumer: record() commits with the change, the relay delivers exactly once", async () => {
      const bus = busFor();
      const consumer = unique("consumer");
      const delivered: string[] = [];
      bus.consume(consumer, ["job.triggered"], async (e) => {
        delivered.push(e.id);
      });

      const event = bus.create(
        "job.triggered",
        { jobId: "db.optimize", runId: null, trigger: "cli" },
        { actor: "test" },
      );
      const mailId = newId("mail", clock.now());
      await platform.db.batch([
        platform.db.insert(mailOutbox).values(mailRow(mailId, clock.now())),
        ...bus.record(event),
      ]);
      bus.publish(event);
      await platform.drain();
      expect(delivered).toEqual([event.id]);
      expect(await platform.db.select().from(mailOutbox).where(eq(mailOutbox.id, mailId))).toHaveLength(1);

      // Relaying again (another pass, the events.relay job) delivers nothing twice.
      expect(await bus.relay()).toEqual({ delivered: 0, failed: 0, dead: 0 });
      expect(delivered).toEqual([event.id]);
      const [row] = await platform.db.select().from(outboxEvents).where(eq(outboxEvents.eventId, event.id));
      expect(row).toMatchObject({ consumer, status: "done", attempts: 1, lastError: null });
      expect(JSON.parse(row!.payload)).toEqual({ payload: event.payload, actor: "test" });

      // Committed but never published (the process died): the relay still delivers it.
      const orphan = bus.create("job.triggered", {
        jobId: "db.optimize",
        runId: "jrun_x",
        trigger: "manual",
      });
      await platform.db.batch(bus.record(orphan) as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
      expect(await bus.relay()).toEqual({ delivered: 1, failed: 0, dead: 0 });
      expect(delivered).toEqual([event.id, orphan.id]);
    });

    test("a failing durable consumer is retried with backoff, then dead-lettered after max attempts", async () => {
      const bus = busFor(3);
      const consumer = unique("failing");
      let calls = 0;
      bus.consume(consumer, ["job.triggered"], async () => {
        calls++;
        throw new Error(`boom ${calls}`);
      });
      const event = bus.create("job.triggered", { jobId: "x.y", runId: null, trigger: "manual" });
      await bus.emit(event);
      await platform.drain();
      expect(calls).toBe(1);

      const state = async () =>
        (await platform.db.select().from(outboxEvents).where(eq(outboxEvents.eventId, event.id)))[0]!;
      let row = await state();
      expect(row).toMatchObject({ consumer, status: "pending", attempts: 1, lastError: "boom 1" });
      // First retry 30 s ± 20 % later.
      let wait = row.nextAttemptAt.getTime() - clock.now().getTime();
      expect(wait).toBeGreaterThanOrEqual(24 * SECOND);
      expect(wait).toBeLessThanOrEqual(36 * SECOND);

      // Not due yet: nothing happens.
      clock.advance(wait - 1);
      expect(await bus.relay()).toEqual({ delivered: 0, failed: 0, dead: 0 });
      expect(calls).toBe(1);

      clock.advance(1);
      expect(await bus.relay()).toEqual({ delivered: 0, failed: 1, dead: 0 });
      row = await state();
      expect(row).toMatchObject({ status: "pending", attempts: 2, lastError: "boom 2" });
      // Second retry 60 s ± 20 % later: the backoff doubles.
      wait = row.nextAttemptAt.getTime() - clock.now().getTime();
      expect(wait).toBeGreaterThanOrEqual(48 * SECOND);
      expect(wait).toBeLessThanOrEqual(72 * SECOND);

      clock.advance(wait);
      expect(await bus.relay()).toEqual({ delivered: 0, failed: 0, dead: 1 });
      expect(await state()).toMatchObject({ status: "dead", attempts: 3, lastError: "boom 3" });

      // Dead rows are never picked up again.
      clock.advance(24 * 3600 * SECOND);
      expect(await bus.relay()).toEqual({ delivered: 0, failed: 0, dead: 0 });
      expect(calls).toBe(3);
    });

    test("OutboxMailer stores what it sends; it reads back intact", async () => {
      const to = `${unique("user")}@example.com`;
      const sent = await platform.mailer.send({
        to,
        subject: "Verify your email",
        text: "Code: 123456",
        html: "<p>Code: <b>123456</b></p>",
        template: "verification",
      });
      const rows = await platform.db.select().from(mailOutbox).where(eq(mailOutbox.to, to));
      expect(rows).toEqual([
        {
          id: sent.id,
          to,
          from: platform.config.MAIL_FROM,
          subject: "Verify your email",
          text: "Code: 123456",
          html: "<p>Code: <b>123456</b></p>",
          template: "verification",
          createdAt: clock.now(),
        },
      ]);
    });

    test("db.batch is atomic: when the second statement violates a constraint, the first leaves no trace", async () => {
      const { db } = platform;
      const existing = newId("mail", clock.now());
      await db.insert(mailOutbox).values(mailRow(existing, clock.now()));
      const fresh = newId("mail", clock.now());
      const event = busFor().create("job.triggered", { jobId: "a.b", runId: null, trigger: "cli" });
      const outboxRow = {
        id: newId("outbox", clock.now()),
        eventId: event.id,
        consumer: unique("c"),
        type: event.type,
        payload: "{}",
        occurredAt: clock.now(),
        nextAttemptAt: clock.now(),
      };

      // Primary key violation in the second statement.
      await expect(
        db.batch([
          db.insert(mailOutbox).values(mailRow(fresh, clock.now())),
          db.insert(mailOutbox).values(mailRow(existing, clock.now())),
        ]),
      ).rejects.toThrow();
      expect(await db.select().from(mailOutbox).where(eq(mailOutbox.id, fresh))).toEqual([]);

      // Unique index violation (event, consumer) across two tables.
      await db.insert(outboxEvents).values(outboxRow);
      await expect(
        db.batch([
          db.insert(mailOutbox).values(mailRow(fresh, clock.now())),
          db.insert(outboxEvents).values({ ...outboxRow, id: newId("outbox", clock.now()) }),
        ]),
      ).rejects.toThrow();
      expect(await db.select().from(mailOutbox).where(eq(mailOutbox.id, fresh))).toEqual([]);
      expect(await db.select().from(outboxEvents).where(eq(outboxEvents.eventId, event.id))).toHaveLength(1);

      // The same batch without the conflict commits both.
      await db.batch([
        db.insert(mailOutbox).values(mailRow(fresh, clock.now())),
        db.update(mailOutbox).set({ subject: "x" }).where(eq(mailOutbox.id, existing)),
      ]);
      expect((await db.select().from(mailOutbox).where(eq(mailOutbox.id, fresh))).length).toBe(1);
      expect((await db.select().from(mailOutbox).where(eq(mailOutbox.id, existing)))[0]?.subject).toBe("x");
    });
  });
}

storageSuite("a libSQL file", "libsql-file", () => `file:${tempDir("tt-storage-db-")}/teamtrack.db`);
storageSuite(":memory:", "libsql-memory", () => ":memory:");

describe("libSQL server", () => {
  if (requires("sqld", !!sqldBinary(), "run `npm run tools`")) {
    let sqld: SqldServer | undefined;
    beforeAll(async () => {
      sqld = await startSqld();
    });
    afterAll(() => sqld?.stop());
    storageSuite("sqld over http://", "libsql-remote", () => sqld!.url);
  }
});
