import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { FsBlobStore } from "../../src/adapters/blob/fs";
import { MemoryBlobStore } from "../../src/adapters/blob/memory";
import { S3BlobStore } from "../../src/adapters/blob/s3";
import { type S3Server, startS3 } from "../support/tools";
import { blobContract } from "./blob.contract";

blobContract("memory", async () => ({ store: new MemoryBlobStore(), close: async () => {} }), {
  presigns: false,
});

blobContract(
  "filesystem",
  async () => {
    const dir = `${process.env.TMPDIR ?? "/tmp"}/tt-blobs-${crypto.randomUUID()}`;
    return { store: new FsBlobStore(dir), close: async () => rmSync(dir, { recursive: true, force: true }) };
  },
  { presigns: false },
);

// A real S3-compatible server over HTTP (s3rver, a dev dependency: always present, never skipped).
let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(() => s3?.stop());

const s3Store = (prefix: string) =>
  new S3BlobStore({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: "us-east-1",
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    prefix,
  });

// Each test under its own prefix of one bucket, as deployments sharing a bucket would be.
blobContract(
  "S3 (s3rver)",
  async () => ({ store: s3Store(`run-${crypto.randomUUID().slice(0, 8)}/`), close: async () => {} }),
  { presigns: true },
);

describe("S3 store", () => {
  test("the prefix keeps deployments sharing a bucket apart; the bucket answers ping", async () => {
    const a = s3Store("deploy-a/");
    const b = s3Store("deploy-b/");
    await a.put("org_1/x.jpg", new Uint8Array([1, 2, 3]), { contentType: "image/jpeg" });
    expect(await b.get("org_1/x.jpg")).toBeNull();
    expect((await a.get("org_1/x.jpg"))?.size).toBe(3);
    await a.ping();
    await b.delete("org_1/x.jpg"); // b's key, not a's
    expect((await a.get("org_1/x.jpg"))?.size).toBe(3);
  });

  test("a missing bucket is an error and fails readiness; a missing key in a real bucket is null", async () => {
    const noBucket = new S3BlobStore({
      bucket: "no-such-bucket",
      endpoint: s3.endpoint,
      region: "us-east-1",
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      prefix: "",
    });
    await expect(noBucket.get("org_1/x.jpg")).rejects.toThrow("S3 GET of a blob answered 404 NoSuchBucket");
    await expect(noBucket.ping()).rejects.toThrow("NoSuchBucket");
    expect(await s3Store("p/").get("org_1/never.jpg")).toBeNull();
  });

  // A call that hung instead of failing would hold this test past bun's per-test timeout (5 s): no timing here.
  test("a server that is gone or never answers fails each call, with no signed URL in the error", async () => {
    // Accepts connections and never answers.
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      for (const endpoint of [`http://127.0.0.1:${silent.port}`, "http://127.0.0.1:9"]) {
        const store = new S3BlobStore({
          bucket: "b",
          endpoint,
          region: "us-east-1",
          accessKeyId: "AKIAEXAMPLE",
          secretAccessKey: "secret",
          prefix: "",
          timeoutMs: 300,
        });
        const errors = await Promise.all([
          store.get("org_1/x.jpg").catch((e: Error) => e),
          store.put("org_1/x.jpg", new Uint8Array([1]), { contentType: "image/jpeg" }).catch((e: Error) => e),
          store.delete("org_1/x.jpg").catch((e: Error) => e),
          store.ping().catch((e: Error) => e),
        ]);
        for (const e of errors) {
          expect(e).toBeInstanceOf(Error);
          expect(JSON.stringify({ m: (e as Error).message, ...(e as object) })).not.toMatch(
            /X-Amz|AKIAEXAMPLE/,
          );
        }
      }
    } finally {
      silent.stop(true);
    }
  });
});
