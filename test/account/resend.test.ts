import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { MailDeliveryError, ResendMailer } from "../../src/adapters/mail/resend";
import { mailOutbox } from "../../src/db/schema";
import type { MailMessage } from "../../src/ports/mail";
import { createTestApp } from "../support/app";
import { seedMember } from "../support/identity";

const KEY = "re_test_Zk3yS3cr3tValue_0123456789";

interface Captured {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** A stand-in for api.resend.com on loopback: records each request and answers as told. */
let captured: Captured[] = [];
let reply: () => Response = () => Response.json({ id: "email_test_1" });
let server: ReturnType<typeof Bun.serve>;
let baseUrl: string;

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      captured.push({
        method: req.method,
        path: url.pathname,
        headers: Object.fromEntries(req.headers),
        body: (await req.json().catch(() => ({}))) as Record<string, unknown>,
      });
      return reply();
    },
  });
  baseUrl = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.stop(true));
afterEach(() => {
  captured = [];
  reply = () => Response.json({ id: "email_test_1" });
});

const message: MailMessage = {
  to: "ada@example.com",
  subject: "Hello",
  text: "Plain part",
  html: "<!doctype html><p>HTML part</p>",
  template: "verification",
};

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the send to fail");
}

describe("Resend adapter (real `resend` SDK against a local receiver)", () => {
  test("POST /emails with the bearer key and a JSON body carrying from/to/subject/html/text", async () => {
    const mailer = new ResendMailer({ apiKey: KEY, baseUrl, defaultFrom: "TeamTrack <no-reply@tt.test>" });
    expect(await mailer.send(message)).toEqual({ id: "email_test_1" });
    expect(captured).toHaveLength(1);
    const req = captured[0]!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/emails");
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.headers["content-type"]).toContain("application/json");
    expect(req.headers["user-agent"]).toStartWith("resend-node:");
    expect(req.body).toMatchObject({
      from: "TeamTrack <no-reply@tt.test>",
      to: "ada@example.com",
      subject: "Hello",
      text: "Plain part",
      html: "<!doctype html><p>HTML part</p>",
      tags: [{ name: "template", value: "verification" }],
    });
  });

  test("the SDK honours RESEND_BASE_URL from the environment", async () => {
    const before = process.env.RESEND_BASE_URL;
    process.env.RESEND_BASE_URL = baseUrl;
    try {
      await new ResendMailer({ apiKey: KEY, defaultFrom: "x@tt.test" }).send(message);
    } finally {
      if (before === undefined) delete process.env.RESEND_BASE_URL;
      else process.env.RESEND_BASE_URL = before;
    }
    expect(captured.map((c) => c.path)).toEqual(["/emails"]);
  });

  test("a 4xx answer throws, naming the provider code and status but no secret or echoed text", async () => {
    reply = () =>
      Response.json(
        { statusCode: 422, name: "validation_error", message: `Invalid \`to\` field (key ${KEY})` },
        { status: 422 },
      );
    const mailer = new ResendMailer({ apiKey: KEY, baseUrl, defaultFrom: "x@tt.test" });
    const err = await failure(mailer.send(message));
    expect(err).toBeInstanceOf(MailDeliveryError);
    expect((err as MailDeliveryError).status).toBe(422);
    expect(err.message).toContain("validation_error");
    expect(`${err.message} ${err.stack} ${JSON.stringify(err)}`).not.toContain(KEY);
    expect(err.message).not.toContain("Invalid");
  });

  test("a 5xx answer (not JSON) throws", async () => {
    reply = () => new Response("upstream exploded", { status: 503 });
    const err = await failure(
      new ResendMailer({ apiKey: KEY, baseUrl, defaultFrom: "x@tt.test" }).send(message),
    );
    expect(err).toBeInstanceOf(MailDeliveryError);
    expect((err as MailDeliveryError).status).toBe(503);
    expect(err.message).not.toContain(KEY);
  });

  test("an unreachable provider throws too", async () => {
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const url = `http://127.0.0.1:${closed.port}`;
    closed.stop(true);
    const err = await failure(
      new ResendMailer({ apiKey: KEY, baseUrl: url, defaultFrom: "x@tt.test" }).send(message),
    );
    expect(err).toBeInstanceOf(MailDeliveryError);
    expect(err.message).not.toContain(KEY);
  });

  test("the Bun platform selects it when RESEND_API_KEY is set; flows mail through it", async () => {
    const t = await createTestApp({
      RESEND_API_KEY: KEY,
      RESEND_BASE_URL: baseUrl,
      MAIL_FROM: "TT <mail@tt.test>",
    });
    try {
      expect(t.platform.mailer.name).toBe("resend");
      const m = await seedMember(t, "member");
      const r = await t.app.request("/api/v1/auth/password/forgot", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: m.email }),
      });
      expect(r.status).toBe(202);
      await t.platform.drain();
      expect(captured).toHaveLength(1);
      expect(captured[0]!.body).toMatchObject({ to: m.email, from: "TT <mail@tt.test>" });
      expect(String(captured[0]!.body.text)).toContain("/reset-password?token=");
      expect(String(captured[0]!.body.html)).toContain("/reset-password?token=");
      expect(await t.platform.db.select().from(mailOutbox)).toHaveLength(0);

      // A provider failure after the 202 is logged, without the key.
      reply = () => new Response("nope", { status: 500 });
      t.clock.advance(61_000);
      await t.app.request("/api/v1/auth/password/forgot", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: m.email }),
      });
      await t.platform.drain();
      expect(t.logs.text()).toContain("MailDeliveryError");
      expect(t.logs.text()).not.toContain(KEY);
    } finally {
      await t.close();
    }
  });
});
