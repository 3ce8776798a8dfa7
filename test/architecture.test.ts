import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dir, "..");
const SRC = join(ROOT, "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Runtime-specific modules; only the composition roots may load them. */
const FORBIDDEN = [
  /^bun(:|$)/,
  /^cloudflare:/,
  /^ioredis$/,
  /^@libsql\/client/,
  /^croner$/,
  /^sharp$/,
  /^node:/,
  /^(fs|path|os|net|child_process|zlib|crypto)$/,
];
/** Where runtime-specific code lives (ARCHITECTURE.md: composition root per runtime). */
const ALLOWED_DIRS = ["runtime/", "platform/", "adapters/", "cli/"];

function imports(source: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  const re =
    /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'"`;]*?\sfrom\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|require\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of source.matchAll(re)) {
    const spec = m[3] ?? m[4] ?? m[5];
    if (spec) out.push({ spec, typeOnly: !!m[2] });
  }
  return out;
}

describe("architecture", () => {
  test("only runtime/, platform/, adapters/ and cli/ import runtime-specific modules", () => {
    const offenders: string[] = [];
    for (const file of files(SRC)) {
      const rel = relative(SRC, file);
      if (ALLOWED_DIRS.some((d) => rel.startsWith(d))) continue;
      for (const { spec, typeOnly } of imports(readFileSync(file, "utf8"))) {
        if (!typeOnly && FORBIDDEN.some((re) => re.test(spec))) offenders.push(`${rel} imports ${spec}`);
      }
      if (/\bBun\.\w+|\bprocess\.(env|exit|on)\b/.test(readFileSync(file, "utf8")))
        offenders.push(`${rel} uses Bun/process globals`);
    }
    expect(offenders).toEqual([]);
  });

  test("the check itself catches a violation", () => {
    const found = imports(
      'import Redis from "ioredis";\nimport { x } from "node:fs";\nimport type { Y } from "bun";\n',
    );
    expect(found).toEqual([
      { spec: "ioredis", typeOnly: false },
      { spec: "node:fs", typeOnly: false },
      { spec: "bun", typeOnly: true },
    ]);
    expect(FORBIDDEN.some((re) => re.test("@libsql/client/web"))).toBe(true);
    expect(FORBIDDEN.some((re) => re.test("cloudflare:workers"))).toBe(true);
  });

  test("lib/ imports nothing from the rest of src/", () => {
    const bad = files(join(SRC, "lib")).flatMap((f) =>
      imports(readFileSync(f, "utf8"))
        .filter(({ spec }) => spec.startsWith("../"))
        .map(({ spec }) => `${relative(SRC, f)} imports ${spec}`),
    );
    expect(bad).toEqual([]);
  });

  test("feature modules stay under ~400 lines per file", () => {
    const long = files(SRC)
      .filter((f) => !f.endsWith(".generated.ts"))
      .map((f) => [relative(SRC, f), readFileSync(f, "utf8").split("\n").length] as const)
      .filter(([, n]) => n > 400);
    expect(long).toEqual([]);
  });
});
