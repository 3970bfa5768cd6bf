// Structured logs (pino): one JSON object a line on stderr (stdout belongs to the launcher's banner),
// with the process's role. `ROUTERHUB_LOG_FORMAT=pretty` (set by the local launcher) prints them for
// people instead. Never log an API key or prompt text: log ids, counts and codes (messages pass
// through `redact` all the same).
import pino from 'pino';
import { redact } from './secrets';

export interface Log {
  /** A plain message, at info level. */
  (msg: string): void;
  /** Fields and a message, e.g. the one line per response. */
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

let root: pino.Logger | null = null;

function rootLogger(): pino.Logger {
  root ??= pino(
    { level: process.env.ROUTERHUB_LOG_LEVEL ?? 'info', timestamp: pino.stdTimeFunctions.isoTime, base: { pid: process.pid } },
    process.env.ROUTERHUB_LOG_FORMAT === 'pretty'
      ? (require('pino-pretty') as typeof import('pino-pretty'))({ destination: 2, sync: true, ignore: 'pid,role', messageFormat: '[{role}] {msg}', translateTime: 'SYS:HH:MM:ss.l' })
      : pino.destination({ fd: 2, sync: false }),
  );
  return root;
}

export function logger(role: string): Log {
  const child = rootLogger().child({ role });
  const log = ((msg: string) => child.info(redact(msg))) as Log;
  log.info = (fields, msg) => child.info(fields, redact(msg));
  log.warn = (fields, msg) => child.warn(fields, redact(msg));
  log.error = (fields, msg) => child.error(fields, redact(msg));
  return log;
}

/** Writes what is buffered (before a process exits). */
export function flushLogs(): void {
  root?.flush();
}
