import { test } from "bun:test";

/**
 * Gate for tests that need a system tool or service (Redis, sqld, Chromium, promtool, oathtool,
 * workerd). When the tool is missing the suite says so loudly and skips; under CI=true a missing tool
 * is a failing test instead, because CI installs and starts everything these tests need.
 */
export function requires(tool: string, available: boolean, hint: string): boolean {
  if (available) return true;
  const msg = `\n\x1b[33m⚠ SKIPPING tests that need ${tool}: ${hint}\x1b[0m\n`;
  if (process.env.CI === "true") {
    test(`${tool} is available (required under CI=true)`, () => {
      throw new Error(`${tool} is required under CI=true: ${hint}`);
    });
  } else {
    console.warn(msg);
    test.skip(`needs ${tool}: ${hint}`, () => {});
  }
  return false;
}

/** Path of an executable on PATH, or null. */
export function which(cmd: string): string | null {
  return Bun.which(cmd);
}
