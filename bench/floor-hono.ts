/**
 * Floor for bench/api.ts: a bare Hono hello-world on Bun.serve, no middleware, started as its own
 * process on PORT. Prints "listening" when ready.
 */
import { Hono } from "hono";

const app = new Hono();
app.get("/", (c) => c.json({ hello: "world" }));

const server = Bun.serve({ port: Number(process.env.PORT), hostname: "127.0.0.1", fetch: app.fetch });
console.log(`listening on ${server.port}`);
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
