// How a RouterHub process starts and stops: a failed start is one log line and exit 1; SIGTERM or
// SIGINT runs the process's own drain once, then exits 0.
export function runProcess(log: (msg: string) => void, main: () => Promise<() => Promise<void>>): void {
  main().then((drain) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      drain().then(() => process.exit(0), (err: Error) => {
        log(`stopped with an error: ${err.message}`);
        process.exit(1);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  }, (err: Error) => {
    log(`cannot start: ${err.message}`);
    process.exit(1);
  });
}
