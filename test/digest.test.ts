import { describe, expect, test } from "bun:test";
import { sha1Hex } from "../src/adapters/digest/sha1";
import { xxh3Hex } from "../src/adapters/digest/xxh3";

// The ETag digests (Platform.digest): XXH3-64 on Bun, SHA-1 on Workers.
describe("response body digests", () => {
  test("reference vectors", () => {
    expect(xxh3Hex("")).toBe("2d06800538d394c2");
    expect(xxh3Hex("abc")).toBe("78af5f94892f3950");
    expect(sha1Hex("abc")).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
  });

  test("a text and its UTF-8 bytes digest alike; one changed byte changes the digest; fixed width", () => {
    const text = '{"name":"Zoë","hours":7.5}';
    for (const digest of [xxh3Hex, sha1Hex]) {
      expect(digest(text)).toBe(digest(new TextEncoder().encode(text)));
      expect(digest(text)).not.toBe(digest(text.replace("7.5", "7.6")));
    }
    // Zero-padded, so every tag has the same length.
    for (let i = 0; i < 200; i++) expect(xxh3Hex(`body ${i}`)).toMatch(/^[0-9a-f]{16}$/);
    expect(sha1Hex(text)).toMatch(/^[0-9a-f]{40}$/);
  });
});
