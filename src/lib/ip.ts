import ipaddr from "ipaddr.js";

/**
 * IP address helpers for client identification (spec 2.5): CIDR lists, the client address behind
 * trusted proxies, and the bucket an address is rate-limited under. Parsing is ipaddr.js's.
 */

type Addr = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Addr, number];

/** Parses an address, unwrapping IPv4-mapped IPv6 (`::ffff:1.2.3.4` → `1.2.3.4`); null when invalid. */
export function parseIp(value: string): Addr | null {
  const s = value.trim();
  if (!ipaddr.isValid(s)) return null;
  try {
    return ipaddr.process(s);
  } catch {
    return null;
  }
}

/** One CIDR (`10.0.0.0/8`, `2001:db8::/32`) or bare address (a /32 or /128); null when invalid. */
function parseRange(value: string): Range | null {
  const s = value.trim();
  if (s.includes("/")) {
    if (!ipaddr.isValidCIDR(s)) return null;
    const [addr, bits] = ipaddr.parseCIDR(s);
    // A v4-mapped v6 range (::ffff:10.0.0.0/104) is kept as the v4 range it stands for.
    if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96)
      return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
    return [addr, bits];
  }
  const addr = parseIp(s);
  return addr ? [addr, addr.kind() === "ipv4" ? 32 : 128] : null;
}

/** The entries of a CIDR list that do not parse (config validation reports them all). */
export function invalidCidrs(list: readonly string[]): string[] {
  return list.filter((s) => parseRange(s) === null);
}

/** A fixed set of IPv4 and IPv6 ranges. */
export class CidrSet {
  readonly #ranges: Range[];

  /** Throws on an invalid entry; config validation (`invalidCidrs`) runs first. */
  constructor(list: readonly string[]) {
    this.#ranges = list.map((s) => {
      const r = parseRange(s);
      if (!r) throw new Error(`invalid CIDR: ${s}`);
      return r;
    });
  }

  get size(): number {
    return this.#ranges.length;
  }

  /** True when `ip` parses and lies in one of the ranges (only ranges of its own family match). */
  has(ip: string | Addr | null): boolean {
    if (this.#ranges.length === 0 || ip === null) return false;
    const addr = typeof ip === "string" ? parseIp(ip) : ip;
    if (!addr) return false;
    return this.#ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits));
  }
}

/**
 * The client address. Without a trusted header it is the socket peer. Single-value headers
 * (`x-real-ip`, `cf-connecting-ip`, …) are taken as they are. `x-forwarded-for` is walked from the
 * right, like Express's `trust proxy`: the socket peer is the proxy TRUST_PROXY says we sit behind
 * (when `trustedProxies` is non-empty it must lie inside it, otherwise the header is ignored), then
 * each entry from right to left; every hop inside `trustedProxies` is skipped and the first one
 * outside it is the client. With an empty `trustedProxies` that is the right-most entry, the one
 * our proxy appended. Entries to its left were written by the client and are never used, so a
 * spoofed header cannot choose a bucket. A missing header, or garbage where a proxy should have
 * written an address, falls back to the nearest address a trusted hop vouched for.
 */
export function resolveClientIp(opts: {
  socketIp: string | undefined;
  header?: string;
  headerValue?: string | undefined;
  trustedProxies?: CidrSet;
}): string {
  const socket = opts.socketIp ? normalise(opts.socketIp) : "unknown";
  if (!opts.header || !opts.headerValue) return socket;
  const trusted = opts.trustedProxies;
  if (trusted?.size && !trusted.has(socket)) return socket;
  if (opts.header !== "x-forwarded-for") return parseIp(opts.headerValue)?.toString() ?? socket;
  const hops = opts.headerValue
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  let vouched = socket;
  for (let i = hops.length - 1; i >= 0; i--) {
    const addr = parseIp(hops[i]!);
    if (!addr) return vouched;
    vouched = addr.toString();
    if (i > 0 && trusted?.has(addr)) continue;
    return vouched;
  }
  return socket;
}

/** Socket addresses repeat (keep-alive, the same clients): parsing one costs more than a lookup. */
const normalised = new Map<string, string>();

function normalise(ip: string): string {
  let out = normalised.get(ip);
  if (out === undefined) {
    out = parseIp(ip)?.toString() ?? ip;
    if (normalised.size >= 4096) normalised.clear();
    normalised.set(ip, out);
  }
  return out;
}

/**
 * The rate-limit bucket of an address: IPv4 as is, IPv6 by its /64, because one subscriber gets a
 * whole /64 and could otherwise rotate through 2^64 buckets. Anything unparseable stays as it is.
 */
export function ipBucket(ip: string): string {
  const addr = parseIp(ip);
  if (!addr) return ip;
  if (addr.kind() === "ipv4") return addr.toString();
  const parts = (addr as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toRFC5952String()}/64`;
}
