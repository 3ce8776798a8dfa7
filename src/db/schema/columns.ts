import { integer } from "drizzle-orm/sqlite-core";

/** A point in time, stored as integer milliseconds since the epoch (UTC), read as a Date. */
export const ts = (name: string) => integer(name, { mode: "timestamp_ms" });

/** A boolean, stored as 0/1. */
export const bool = (name: string) => integer(name, { mode: "boolean" });
