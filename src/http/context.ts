import type { EventBus } from "../events/bus";
import type { JobRunner } from "../jobs/runner";
import type { Logger, Platform } from "../ports/platform";

export interface Services {
  events: EventBus;
  jobs: JobRunner;
}

/** Who is calling. Identity adds users, personal access tokens and agents. */
export type Principal = { kind: "operator" } | { kind: "metrics" };

/** Bindings the runtime passes as Hono's `env`: the socket address on Bun, bindings on Workers. */
export interface AppBindings {
  ip?: string;
  [binding: string]: unknown;
}

export interface AppVariables {
  requestId: string;
  logger: Logger;
  platform: Platform;
  services: Services;
  clientIp: string;
  principal?: Principal;
  /** Work after the response (waitUntil on Workers, tracked promise on Bun). */
  defer: (work: Promise<unknown>) => void;
}

export interface AppEnv {
  Bindings: AppBindings;
  Variables: AppVariables;
}
