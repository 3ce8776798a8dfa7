import { afterAll, expect, test } from "bun:test";
import { createTestApp } from "./support/app";

const dev = await createTestApp({ NODE_ENV: "development" });
const prod = await createTestApp({ NODE_ENV: "production", CORS_ORIGINS: "https://app.example.com" });
afterAll(async () => {
  await dev.close();
  await prod.close();
});

test("/dev/mail lists the dev outbox, newest first, in development", async () => {
  await dev.platform.mailer.send({
    to: "a@example.com",
    subject: "First",
    text: "one",
    html: "<p>one</p>",
    template: "test",
  });
  dev.clock.advance(1000);
  await dev.platform.mailer.send({ to: "b@example.com", subject: "Second", text: "two", html: "<p>two</p>" });
  const res = await dev.app.request("/dev/mail");
  expect(res.status).toBe(200);
  const { data } = await res.json();
  expect(data.map((m: { subject: string }) => m.subject)).toEqual(["Second", "First"]);
  expect(data[1]).toMatchObject({ to: "a@example.com", text: "one", html: "<p>one</p>", template: "test" });
});

test("/dev/mail does not exist outside development (it holds reset and verification links)", async () => {
  await prod.platform.mailer.send({ to: "a@example.com", subject: "Secret link", text: "t", html: "h" });
  const res = await prod.app.request("/dev/mail");
  expect(res.status).toBe(404);
  expect(await res.text()).not.toContain("Secret link");
  const doc = await (await prod.app.request("/api/v1/openapi.json")).json();
  expect(Object.keys(doc.paths)).not.toContain("/dev/mail");
});
