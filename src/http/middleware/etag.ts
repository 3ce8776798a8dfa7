/** Conditional GET and body sizes for the response builder (responses.ts). */
/** What a 304 keeps of the answer it stands for (RFC 9110 §15.4.5; the same list as hono/etag). */
const RETAINED_304 = ["cache-control", "content-location", "expires", "vary"] as const;
const NON_ASCII = /[^ -~\t\n\r]/;
const encoder = new TextEncoder();

/** Size in bytes of a body built in memory; undefined for a stream or none. */
export function sizeOf(data: unknown): number | undefined {
  if (typeof data === "string") return NON_ASCII.test(data) ? encoder.encode(data).byteLength : data.length;
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) return data.byteLength;
  return undefined;
}

/** If-None-Match against our tag, as hono/etag compares: `*`, or any listed tag, weak or not. */
export function matches(etag: string, ifNoneMatch: string): boolean {
  if (ifNoneMatch.trim() === "*") return true;
  const expected = etag.replace(/^W\//, "");
  return ifNoneMatch.match(/"[^"]*"/g)?.some((t) => t === expected) ?? false;
}

export function notModified(res: Response, etag: string): Response {
  const headers = new Headers({ ETag: etag });
  for (const name of RETAINED_304) {
    const value = res.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Response(null, { status: 304, headers });
}
