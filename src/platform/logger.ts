import pino, { type DestinationStream } from "pino";
import type { Logger } from "../ports/platform";
import { REDACT_CENSOR, REDACT_PATHS } from "../telemetry/redact";

/** JSON logs on stdout (or a given stream in tests), with credentials censored by path. */
export function createLogger(opts: {
  level: string;
  base?: Record<string, unknown>;
  destination?: DestinationStream;
}): Logger {
  return pino(
    {
      level: opts.level,
      base: opts.base ?? {},
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: REDACT_CENSOR },
      serializers: { err: pino.stdSerializers.err },
    },
    opts.destination ?? pino.destination({ sync: false }),
  );
}
