import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; ids go in fields (reqId, stationId, peerId, runId), never in the message text. */
export function createLogger(level: string, base?: Record<string, unknown>): Logger {
  return pino({ level, base: { service: 'gridflex', ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}
