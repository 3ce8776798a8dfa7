/**
 * Presence per agent: a member with two devices (an agent each) is active while either one shows
 * them working. Before, the newest heartbeat of any device decided, so an idle laptop next to the
 * desktop they type on flipped the member between active and idle on every batch — each flip a
 * `member.status_changed` event.
 */
import { describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { memberPresence } from "../../src/db/schema";
import type { TestApp } from "../support/app";
import { databaseBefore } from "../support/migrations";
import { createAgent } from "../tokens/support";
import { freshAppEachTest, type Hb, hb, post, setSettings, type Tracker, tracker } from "./support";

let t: TestApp;
freshAppEachTest("2026-03-02T09:00:00Z", (app) => {
  t = app;
});

/** A member with two enrolled agents: `laptop` (from `tracker`) and `desktop`. */
async function twoDevices(): Promise<{
  who: Tracker;
  laptop: Record<string, string>;
  desktop: Record<string, string>;
}> {
  const who = await tracker(t);
  const desktop = await createAgent(t, who, "Desktop");
  return { who, laptop: who.agent, desktop: { authorization: `Bearer ${desktop.token}` } };
}

async function send(auth: Record<string, string>, hbs: Hb[]): Promise<string> {
  const res = await post(t, auth, { heartbeats: hbs });
  expect(res.status).toBe(200);
  return ((await res.json()) as { status: string }).status;
}

const agentsOf = async (memberId: string) => {
  const [row] = await t.platform.db
    .select()
    .from(memberPresence)
    .where(eq(memberPresence.memberId, memberId));
  return JSON.parse(row?.agents ?? "null") as Record<string, [number, number, number]>;
};

describe("presence with several agents", () => {
  test("an idle laptop does not flip a member typing on the desktop: active throughout, one event", async () => {
    const { laptop, desktop } = await twoDevices();
    const events: string[] = [];
    const off = t.services.events.on(
      "member.status_changed",
      (e) => void events.push(`${e.payload.from}→${e.payload.to}`),
    );
    const start = t.clock.now().getTime();
    const statuses: string[] = [];
    for (let i = 0; i < 10; i++) {
      const at = start + i * 30_000;
      t.clock.set(at + 30_000);
      // Each batch from the laptop is newer than the desktop's before it, and says idle.
      statuses.push(await send(desktop, [hb(at, { duration: 30, keyboard: 12 })]));
      statuses.push(await send(laptop, [hb(at + 15_000, { duration: 15, idle: true })]));
    }
    await t.platform.drain();
    off();
    expect(statuses).toEqual(Array(20).fill("active"));
    expect(events).toEqual(["offline→active"]);
  });

  test("idle once every agent heard from says idle; active again on input from either", async () => {
    const { laptop, desktop } = await twoDevices();
    const start = t.clock.now().getTime();
    t.clock.set(start + 60_000);
    expect(await send(desktop, [hb(start, { duration: 30, keyboard: 3 })])).toBe("active");
    expect(await send(laptop, [hb(start + 10_000, { duration: 30, idle: true })])).toBe("active");
    expect(await send(desktop, [hb(start + 40_000, { duration: 10, idle: true })])).toBe("idle");
    expect(await send(laptop, [hb(start + 50_000, { duration: 10, mouse: 4 })])).toBe("active");
  });

  test("an agent not heard from for 5 minutes no longer keeps the member active", async () => {
    const { who, laptop, desktop } = await twoDevices();
    // A long idle threshold, so that only the agent's silence can make the member idle here.
    await setSettings(t, who.orgId, { idleThresholdSeconds: 3_600 });
    const start = t.clock.now().getTime();
    t.clock.set(start + 30_000);
    expect(await send(laptop, [hb(start, { duration: 30, keyboard: 5 })])).toBe("active");
    // Four minutes later the laptop still counts: the desktop's idle report does not decide alone.
    t.clock.set(start + 4 * 60_000);
    expect(await send(desktop, [hb(start + 3 * 60_000, { duration: 60, idle: true })])).toBe("active");
    // Six minutes after the laptop's last batch it has aged out of the member's agents.
    t.clock.set(start + 6.5 * 60_000);
    expect(await send(desktop, [hb(start + 5.5 * 60_000, { duration: 60, idle: true })])).toBe("idle");
    expect(Object.keys(await agentsOf(who.memberId))).toHaveLength(1);
  });

  test("a late batch from an agent does not replace its newer state", async () => {
    const { who, laptop, desktop } = await twoDevices();
    const start = t.clock.now().getTime();
    t.clock.set(start + 10 * 60_000);
    expect(await send(desktop, [hb(start + 9 * 60_000, { duration: 60, idle: true })])).toBe("idle");
    expect(await send(laptop, [hb(start + 9 * 60_000, { duration: 60, keyboard: 7 })])).toBe("active");
    // The laptop's queued batch from minute 2 (idle) arrives now: its newest report stays "typing".
    expect(await send(laptop, [hb(start + 2 * 60_000, { duration: 60, idle: true })])).toBe("active");
    const agents = await agentsOf(who.memberId);
    const states = Object.values(agents)
      .map(([time, idle]) => [new Date(time).toISOString(), idle])
      .sort();
    expect(states).toEqual([
      ["2026-03-02T09:09:00.000Z", 0],
      ["2026-03-02T09:09:00.000Z", 1],
    ]);
    // Both entries were received at the current time.
    expect(Object.values(agents).map(([, , seen]) => seen)).toEqual([
      start + 10 * 60_000,
      start + 10 * 60_000,
    ]);
  });
});

describe("migration 0010", () => {
  test("a member's presence row becomes one entry (its newest heartbeat) that ages out like an agent's", async () => {
    const { client, migrateRest } = await databaseBefore("0010_presence_agents");
    const now = Date.UTC(2026, 2, 2);
    // A bare presence row: its member is beside the point here.
    await client.execute("PRAGMA foreign_keys = OFF");
    await client.batch(
      [
        {
          sql: `INSERT INTO member_presence (member_id, org_id, last_activity_at, last_input_at, latest_time,
            latest_idle, version, online, updated_at) VALUES ('mem_1', 'org_1', ?, ?, ?, 1, 3, 1, ?)`,
          args: [now, now - 60_000, now - 30_000, now + 5_000],
        },
      ],
      "write",
    );
    const { applied } = await migrateRest();
    expect(applied).toContain("0010_presence_agents");
    const { rows } = await client.execute("SELECT agents FROM member_presence");
    expect(JSON.parse(String(rows[0]?.agents))).toEqual({ "": [now - 30_000, 1, now + 5_000] });
    client.close();
  });
});
