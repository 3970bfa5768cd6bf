// How a RouterHub process starts and stops: a failed start is one log line and exit 1; SIGTERM or
// SIGINT runs the process's own drain once, then what telemetry registered (flush spans and logs),
// then exits 0.
import { flushLogs, type Log } from './log';

const exitHooks: Array<() => Promise<void>> = [];

/** Work to finish before the process exits (e.g. exporting the last spans). */
export function onExit(hook: () => Promise<void>): void {
  exitHooks.push(hook);
}

async function finish(code: number): Promise<never> {
  await Promise.all(exitHooks.map((h) => h().catch(() => undefined)));
  flushLogs();
  process.exit(code);
}

export function runProcess(log: Log, main: () => Promise<() => Promise<void>>): void {
  main().then((drain) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      drain().then(() => finish(0), (err: Error) => {
        log.error({}, `stopped with an error: ${err.message}`);
        return finish(1);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  }, (err: Error) => {
    log.error({}, `cannot start: ${err.message}`);
    void finish(1);
  });
}
