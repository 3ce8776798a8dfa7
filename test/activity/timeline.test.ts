/**
 * Timeline and app usage in the member's time zone, around DST changes. Expected values are worked
 * out by hand from the zone rules:
 * - Europe/Berlin 2026-03-29: 02:00 CET → 03:00 CEST at 01:00Z (23-hour day, no "02:00");
 *   2026-10-25: 03:00 CEST → 02:00 CET at 01:00Z (25-hour day, "02:00" twice).
 * - America/New_York 2026-03-08: 02:00 EST → 03:00 EDT at 07:00Z (23 hours);
 *   2026-11-01: 02:00 EDT → 01:00 EST at 06:00Z (25 hours, "01:00" twice).
 * - Australia/Lord_Howe moves by 30 minutes. 2026-10-04: 02:00 +10:30 → 02:30 +11:00 at 15:30Z on
 *   10-03 (23.5 hours; local hour 02 is the half hour 02:30–03:00); 2026-04-05: 02:00 +11:00 →
 *   01:30 +10:30 at 15:00Z on 04-04 (24.5 hours; 01:30–02:00 twice).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { memberships, timeEntries } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import { createTestApp, type TestApp } from "../support/app";
import { type Hb, hb, ingest, type Tracker, tracker } from "./support";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  t.clock.set("2026-12-01T00:00:00Z");
});
afterAll(() => t?.close());

interface Hour {
  hour: string;
  offset: string;
  start: string;
  end: string;
  activeSeconds: number;
  idleSeconds: number;
  trackedSeconds: number;
  activity: { start: string; end: string; app: string; idle: boolean }[];
  entries: { entryId: string; start: string; end: string; running: boolean }[];
}
interface Timeline {
  date: string;
  tz: string;
  start: string;
  end: string;
  totals: { activeSeconds: number; idleSeconds: number; trackedSeconds: number };
  hours: Hour[];
}

async function inZone(tz: string): Promise<Tracker> {
  const who = await tracker(t);
  await t.platform.db.update(memberships).set({ timezone: tz }).where(eq(memberships.id, who.memberId));
  return who;
}

/** Heartbeats every 30 s (30 s long) covering [from, to). */
function run(from: string, to: string, fields: Partial<Hb> = {}): Hb[] {
  const out: Hb[] = [];
  for (let ms = Date.parse(from); ms < Date.parse(to); ms += 30_000)
    out.push(hb(ms, { duration: 30, ...fields }));
  return out;
}

async function entry(who: Tracker, start: string, end: string | null) {
  const id = newId("timeEntry");
  const now = t.clock.now();
  await t.platform.db.insert(timeEntries).values({
    id,
    orgId: who.orgId,
    memberId: who.memberId,
    startAt: new Date(start),
    endAt: end ? new Date(end) : null,
    source: "manual",
    createdAt: now,
    updatedAt: now,
  });
  return id;
}

async function timeline(who: Tracker, query: string): Promise<Timeline> {
  const res = await t.app.request(`/api/v1/members/me/timeline?${query}`, { headers: who.auth });
  expect(res.status).toBe(200);
  return (await res.json()) as Timeline;
}

const brief = (h: Hour) => [h.hour, h.offset, h.activeSeconds, h.idleSeconds, h.trackedSeconds];

describe("timeline: Europe/Berlin", () => {
  test("spring forward (2026-03-29): 23 hours, no 02:00; a span across the jump splits 01:00 | 03:00", async () => {
    const who = await inZone("Europe/Berlin");
    await ingest(t, who, run("2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z", { app: "Code" }));
    const id = await entry(who, "2026-03-28T22:30:00Z", "2026-03-29T00:15:00Z");
    const tl = await timeline(who, "date=2026-03-29");
    expect([tl.tz, tl.start, tl.end, tl.hours.length]).toEqual([
      "Europe/Berlin",
      "2026-03-28T23:00:00.000Z",
      "2026-03-29T22:00:00.000Z",
      23,
    ]);
    expect(tl.hours.map((h) => h.hour)).toEqual([
      "00:00",
      "01:00",
      "03:00",
      "04:00",
      "05:00",
      "06:00",
      "07:00",
      "08:00",
      "09:00",
      "10:00",
      "11:00",
      "12:00",
      "13:00",
      "14:00",
      "15:00",
      "16:00",
      "17:00",
      "18:00",
      "19:00",
      "20:00",
      "21:00",
      "22:00",
      "23:00",
    ]);
    expect(tl.hours.slice(0, 4).map(brief)).toEqual([
      ["00:00", "+01:00", 0, 0, 3600], // entry 23:00Z–00:00Z (the part before midnight is the 28th's)
      ["01:00", "+01:00", 1800, 0, 900], // activity 00:30Z–01:00Z, entry 00:00Z–00:15Z
      ["03:00", "+02:00", 1800, 0, 0], // activity 01:00Z–01:30Z
      ["04:00", "+02:00", 0, 0, 0],
    ]);
    expect(tl.hours[1]?.activity).toMatchObject([
      { start: "2026-03-29T00:30:00.000Z", end: "2026-03-29T01:00:00.000Z", app: "Code", idle: false },
    ]);
    expect(tl.hours[0]?.entries).toMatchObject([
      { entryId: id, start: "2026-03-28T23:00:00.000Z", end: "2026-03-29T00:00:00.000Z", running: false },
    ]);
    expect(tl.totals).toEqual({ activeSeconds: 3600, idleSeconds: 0, trackedSeconds: 4500 });
  });

  test("fall back (2026-10-25): 25 hours, 02:00 twice with both offsets", async () => {
    const who = await inZone("Europe/Berlin");
    await ingest(t, who, run("2026-10-25T00:45:00Z", "2026-10-25T01:15:00Z", { app: "Code", idle: true }));
    await ingest(t, who, run("2026-10-25T01:15:00Z", "2026-10-25T01:20:00Z", { app: "Slack" }));
    const tl = await timeline(who, "date=2026-10-25");
    expect([tl.start, tl.end, tl.hours.length]).toEqual([
      "2026-10-24T22:00:00.000Z",
      "2026-10-25T23:00:00.000Z",
      25,
    ]);
    expect(tl.hours.slice(0, 6).map(brief)).toEqual([
      ["00:00", "+02:00", 0, 0, 0],
      ["01:00", "+02:00", 0, 0, 0],
      ["02:00", "+02:00", 0, 900, 0], // idle 00:45Z–01:00Z
      ["02:00", "+01:00", 300, 900, 0], // idle 01:00Z–01:15Z, Slack 01:15Z–01:20Z
      ["03:00", "+01:00", 0, 0, 0],
      ["04:00", "+01:00", 0, 0, 0],
    ]);
    expect(tl.hours[24]).toMatchObject({ hour: "23:00", offset: "+01:00", end: "2026-10-25T23:00:00.000Z" });
    expect(tl.totals).toEqual({ activeSeconds: 300, idleSeconds: 1800, trackedSeconds: 0 });
  });
});

describe("timeline: America/New_York", () => {
  test("spring forward (2026-03-08): 23 hours; 01:00 EST is followed by 03:00 EDT", async () => {
    const who = await inZone("America/New_York");
    await ingest(t, who, run("2026-03-08T06:50:00Z", "2026-03-08T07:10:00Z", { app: "Code" }));
    const id = await entry(who, "2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z");
    const tl = await timeline(who, "date=2026-03-08");
    expect([tl.start, tl.end, tl.hours.length]).toEqual([
      "2026-03-08T05:00:00.000Z",
      "2026-03-09T04:00:00.000Z",
      23,
    ]);
    expect(tl.hours.slice(0, 4).map(brief)).toEqual([
      ["00:00", "-05:00", 0, 0, 0],
      ["01:00", "-05:00", 600, 0, 1800], // 06:50Z–07:00Z; entry 06:30Z–07:00Z
      ["03:00", "-04:00", 600, 0, 1800], // 07:00Z–07:10Z; entry 07:00Z–07:30Z
      ["04:00", "-04:00", 0, 0, 0],
    ]);
    expect(tl.hours[2]?.entries).toMatchObject([
      { entryId: id, start: "2026-03-08T07:00:00.000Z", end: "2026-03-08T07:30:00.000Z" },
    ]);
  });

  test("fall back (2026-11-01): 25 hours, 01:00 twice; tz= overrides the member's zone", async () => {
    const who = await inZone("America/New_York");
    await ingest(t, who, run("2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", { app: "Code" }));
    const tl = await timeline(who, "date=2026-11-01");
    expect([tl.start, tl.end, tl.hours.length]).toEqual([
      "2026-11-01T04:00:00.000Z",
      "2026-11-02T05:00:00.000Z",
      25,
    ]);
    expect(tl.hours.slice(0, 4).map(brief)).toEqual([
      ["00:00", "-04:00", 0, 0, 0],
      ["01:00", "-04:00", 1800, 0, 0],
      ["01:00", "-05:00", 1800, 0, 0],
      ["02:00", "-05:00", 0, 0, 0],
    ]);
    const utc = await timeline(who, "date=2026-11-01&tz=UTC");
    expect([utc.tz, utc.hours.length, utc.hours[5]?.activeSeconds, utc.hours[6]?.activeSeconds]).toEqual([
      "UTC",
      24,
      1800,
      1800,
    ]);
  });

  test("a running timer counts up to now", async () => {
    const who = await inZone("America/New_York");
    t.clock.set("2026-11-01T06:20:00Z");
    await entry(who, "2026-11-01T05:50:00Z", null);
    const tl = await timeline(who, "date=2026-11-01");
    t.clock.set("2026-12-01T00:00:00Z");
    expect(tl.hours.slice(1, 3).map((h) => [h.trackedSeconds, h.entries[0]?.running])).toEqual([
      [600, true],
      [1200, true],
    ]);
  });
});

describe("timeline: Australia/Lord_Howe (30-minute DST)", () => {
  const hours = (from: number) =>
    Array.from({ length: 24 - from }, (_, i) => `${String(from + i).padStart(2, "0")}:00`);

  test("spring forward (2026-10-04): 24 buckets, 02:30 is half an hour, then 03:00 … 23:00 on the hour", async () => {
    const who = await inZone("Australia/Lord_Howe");
    await ingest(t, who, run("2026-10-03T15:20:00Z", "2026-10-03T15:30:00Z", { app: "Code" })); // 01:50–02:00 +10:30
    await ingest(t, who, run("2026-10-03T15:30:00Z", "2026-10-03T15:45:00Z", { app: "Slack" })); // 02:30–02:45 +11:00
    await ingest(t, who, run("2026-10-03T16:00:00Z", "2026-10-03T16:30:00Z", { app: "Code" })); // 03:00–03:30 +11:00
    const id = await entry(who, "2026-10-03T15:00:00Z", "2026-10-03T16:15:00Z"); // 01:30 +10:30 – 03:15 +11:00
    const tl = await timeline(who, "date=2026-10-04");
    expect([tl.start, tl.end, tl.hours.length]).toEqual([
      "2026-10-03T13:30:00.000Z",
      "2026-10-04T13:00:00.000Z",
      24,
    ]);
    expect(tl.hours.map((h) => h.hour)).toEqual(["00:00", "01:00", "02:30", ...hours(3)]);
    expect(tl.hours.slice(0, 5).map(brief)).toEqual([
      ["00:00", "+10:30", 0, 0, 0],
      ["01:00", "+10:30", 600, 0, 1800], // Code 15:20Z–15:30Z; entry 15:00Z–15:30Z
      ["02:30", "+11:00", 900, 0, 1800], // Slack 15:30Z–15:45Z; entry 15:30Z–16:00Z
      ["03:00", "+11:00", 1800, 0, 900], // Code 16:00Z–16:30Z; entry 16:00Z–16:15Z
      ["04:00", "+11:00", 0, 0, 0],
    ]);
    expect([tl.hours[2]?.start, tl.hours[2]?.end, tl.hours[3]?.start]).toEqual([
      "2026-10-03T15:30:00.000Z",
      "2026-10-03T16:00:00.000Z",
      "2026-10-03T16:00:00.000Z",
    ]);
    expect(tl.hours[2]?.activity).toMatchObject([
      { start: "2026-10-03T15:30:00.000Z", end: "2026-10-03T15:45:00.000Z", app: "Slack" },
    ]);
    expect(tl.hours[3]?.entries).toMatchObject([
      { entryId: id, start: "2026-10-03T16:00:00.000Z", end: "2026-10-03T16:15:00.000Z" },
    ]);
    expect(tl.hours[23]).toMatchObject({ hour: "23:00", start: "2026-10-04T12:00:00.000Z" });
    expect(tl.totals).toEqual({ activeSeconds: 3300, idleSeconds: 0, trackedSeconds: 4500 });
  });

  test("fall back (2026-04-05): 25 buckets, 01:00 +11:00 then the repeated half hour 01:30 +10:30, then 02:00 … 23:00", async () => {
    const who = await inZone("Australia/Lord_Howe");
    await ingest(t, who, run("2026-04-04T14:45:00Z", "2026-04-04T15:00:00Z", { app: "Code" })); // 01:45–02:00 +11:00
    await ingest(t, who, run("2026-04-04T15:00:00Z", "2026-04-04T15:20:00Z", { app: "Code", idle: true })); // 01:30–01:50 +10:30
    await ingest(t, who, run("2026-04-04T15:30:00Z", "2026-04-04T15:40:00Z", { app: "Slack" })); // 02:00–02:10 +10:30
    const tl = await timeline(who, "date=2026-04-05");
    expect([tl.start, tl.end, tl.hours.length]).toEqual([
      "2026-04-04T13:00:00.000Z",
      "2026-04-05T13:30:00.000Z",
      25,
    ]);
    expect(tl.hours.map((h) => h.hour)).toEqual(["00:00", "01:00", "01:30", ...hours(2)]);
    expect(tl.hours.slice(0, 5).map(brief)).toEqual([
      ["00:00", "+11:00", 0, 0, 0],
      ["01:00", "+11:00", 900, 0, 0], // Code 14:45Z–15:00Z
      ["01:30", "+10:30", 0, 1200, 0], // idle 15:00Z–15:20Z
      ["02:00", "+10:30", 600, 0, 0], // Slack 15:30Z–15:40Z
      ["03:00", "+10:30", 0, 0, 0],
    ]);
    expect([tl.hours[2]?.start, tl.hours[2]?.end, tl.hours[3]?.end]).toEqual([
      "2026-04-04T15:00:00.000Z",
      "2026-04-04T15:30:00.000Z",
      "2026-04-04T16:30:00.000Z",
    ]);
    expect(tl.hours[24]).toMatchObject({ hour: "23:00", offset: "+10:30", end: "2026-04-05T13:30:00.000Z" });
    expect(tl.totals).toEqual({ activeSeconds: 1500, idleSeconds: 1200, trackedSeconds: 0 });
  });
});

describe("app usage", () => {
  test("per local day, app and domain; a span across local midnight is split between the days", async () => {
    const who = await inZone("Europe/Berlin");
    // 21:50Z–22:10Z on 2026-03-29 is 23:50–00:10 CEST: 10 minutes on each local day.
    await ingest(
      t,
      who,
      run("2026-03-29T21:50:00Z", "2026-03-29T22:10:00Z", {
        app: "Firefox",
        url: "https://www.github.com/x",
      }),
    );
    await ingest(t, who, run("2026-03-29T10:00:00Z", "2026-03-29T10:05:00Z", { app: "Code" }));
    await ingest(t, who, run("2026-03-29T10:05:00Z", "2026-03-29T10:07:00Z", { app: "Code", idle: true }));
    const res = await t.app.request("/api/v1/members/me/app-usage?from=2026-03-29&to=2026-03-30", {
      headers: who.auth,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      tz: string;
      days: {
        date: string;
        activeSeconds: number;
        idleSeconds: number;
        apps: unknown[];
        domains: unknown[];
      }[];
    };
    expect(body.tz).toBe("Europe/Berlin");
    expect(body.days).toEqual([
      {
        date: "2026-03-29",
        activeSeconds: 900,
        idleSeconds: 120,
        apps: [
          { name: "Firefox", activeSeconds: 600, idleSeconds: 0 },
          { name: "Code", activeSeconds: 300, idleSeconds: 120 },
        ],
        domains: [{ name: "github.com", activeSeconds: 600, idleSeconds: 0 }],
      },
      {
        date: "2026-03-30",
        activeSeconds: 600,
        idleSeconds: 0,
        apps: [{ name: "Firefox", activeSeconds: 600, idleSeconds: 0 }],
        domains: [{ name: "github.com", activeSeconds: 600, idleSeconds: 0 }],
      },
    ]);
    const utc = await t.app.request("/api/v1/members/me/app-usage?date=2026-03-29&tz=UTC", {
      headers: who.auth,
    });
    const u = (await utc.json()) as {
      days: { apps: { name: string; activeSeconds: number; idleSeconds: number }[] }[];
    };
    // In UTC the whole 21:50Z–22:10Z run is on the 29th.
    expect(u.days[0]?.apps).toEqual([
      { name: "Firefox", activeSeconds: 1200, idleSeconds: 0 },
      { name: "Code", activeSeconds: 300, idleSeconds: 120 },
    ]);
  });

  test("bad parameters are 422 naming the field", async () => {
    const who = await tracker(t);
    const q = async (query: string) => {
      const res = await t.app.request(`/api/v1/members/me/app-usage?${query}`, { headers: who.auth });
      return [res.status, ((await res.json()) as { errors?: { path: string }[] }).errors?.map((e) => e.path)];
    };
    expect(await q("date=2026-02-30")).toEqual([422, ["date"]]);
    expect(await q("tz=Mars/Olympus")).toEqual([422, ["tz"]]);
    expect(await q("from=2026-03-02")).toEqual([422, ["to"]]);
    expect(await q("from=2026-03-02&to=2026-03-01")).toEqual([422, ["to"]]);
    expect(await q("from=2026-01-01&to=2026-03-01")).toEqual([422, ["to"]]);
    expect(await q("date=2026-03-02&from=2026-03-01&to=2026-03-02")).toEqual([422, ["date"]]);
    const tl = await t.app.request("/api/v1/members/me/timeline?date=26-03-02", { headers: who.auth });
    expect(tl.status).toBe(422);
  });
});
