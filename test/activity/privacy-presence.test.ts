/**
 * Heartbeats dropped by a privacy rule are not stored, but they come from an agent that is alive and
 * a member who is working. SPEC 3: presence goes offline after "no heartbeat for 5 min"; a timer is
 * stale when "its agent sent no heartbeat" for the threshold.
 */
import { describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { activitySpans, heartbeats, memberships, timeEntries } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import { runJob as runJobOf, type TestApp } from "../support/app";
import { freshAppEachTest, hb, ingest, setSettings, tracker } from "./support";

let t: TestApp;
freshAppEachTest("2026-03-02T09:00:00Z", (app) => {
  t = app;
});

const runJob = (id: string) => runJobOf(t, id);

describe("privacy-dropped heartbeats and liveness", () => {
  test("a timer is not stopped as stale while the agent keeps sending (dropped) heartbeats", async () => {
    const who = await tracker(t);
    await setSettings(t, who.orgId, {
      privacyRules: JSON.stringify([{ field: "app", pattern: "^Vault$", action: "drop" }]),
    });
    const start = t.clock.now().getTime();
    const id = newId("timeEntry");
    await t.platform.db.insert(timeEntries).values({
      id,
      orgId: who.orgId,
      memberId: who.memberId,
      startAt: new Date(start),
      endAt: null,
      source: "timer",
      createdAt: new Date(start),
      updatedAt: new Date(start),
    });
    // One kept heartbeat, then 70 minutes of work in the dropped app, a batch every minute.
    await ingest(t, who, [hb(start, { duration: 60, keyboard: 5 })]);
    for (let m = 1; m <= 70; m++) {
      t.clock.set(start + (m + 1) * 60_000);
      const out = await ingest(t, who, [hb(start + m * 60_000, { app: "Vault", duration: 60, keyboard: 9 })]);
      expect(out.dropped).toBe(1);
    }
    expect(await runJob("timers.reconcile-stale")).toEqual({ stopped: 0 });
    const [entry] = await t.platform.db.select().from(timeEntries).where(eq(timeEntries.id, id));
    expect(entry?.endAt).toBeNull();
  });

  test("a member working only in a dropped app is not shown offline", async () => {
    const who = await tracker(t);
    await setSettings(t, who.orgId, {
      privacyRules: JSON.stringify([{ field: "app", pattern: "^Vault$", action: "drop" }]),
    });
    const start = t.clock.now().getTime();
    await ingest(t, who, [hb(start, { duration: 60, keyboard: 5 })]);
    const seen: string[] = [];
    for (let m = 1; m <= 10; m++) {
      t.clock.set(start + (m + 1) * 60_000);
      const out = await ingest(t, who, [hb(start + m * 60_000, { app: "Vault", duration: 60, keyboard: 9 })]);
      await runJob("presence.expire");
      const [row] = await t.platform.db.select().from(memberships).where(eq(memberships.id, who.memberId));
      seen.push(`${out.status}/${row?.status}`);
    }
    expect(seen.filter((s) => s.includes("offline"))).toEqual([]);
    // Nothing of the dropped app was stored: one heartbeat, and its span only.
    expect((await t.platform.db.select().from(heartbeats)).map((h) => h.app)).toEqual(["Code"]);
    expect([...new Set((await t.platform.db.select().from(activitySpans)).map((p) => p.app))]).toEqual([
      "Code",
    ]);
  });

  test("dropped heartbeats count for idle as well: an idle one in a dropped app makes the member idle", async () => {
    const who = await tracker(t);
    await setSettings(t, who.orgId, {
      privacyRules: JSON.stringify([{ field: "app", pattern: "^Vault$", action: "drop" }]),
    });
    const start = t.clock.now().getTime();
    expect((await ingest(t, who, [hb(start, { duration: 60, keyboard: 5 })])).status).toBe("active");
    t.clock.set(start + 2 * 60_000);
    const out = await ingest(t, who, [hb(start + 60_000, { app: "Vault", duration: 60, idle: true })]);
    expect([out.accepted, out.dropped, out.status]).toEqual([0, 1, "idle"]);
    const [row] = await t.platform.db.select().from(memberships).where(eq(memberships.id, who.memberId));
    expect(row?.status).toBe("idle");
  });
});
