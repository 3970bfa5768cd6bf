// The launcher's port handling: a server that could not bind its picked port (another process held it
// for a moment: parallel test clusters pick and probe ports at the same time) is started again on
// another port; a port the caller gave is kept, and its failure is reported at once.
import { spawn } from 'node:child_process';
import t from 'tap';
import { freePort, startListening } from './cluster';

// A server as nats-server, redis-server and ours behave: it listens, or exits with code 1.
const server = (port: number, bindFails: boolean) =>
  spawn(process.execPath, ['-e', bindFails ? 'process.exit(1)' : `require('net').createServer().listen(${port}, '127.0.0.1')`], { stdio: 'ignore' });

t.test('a server that exits before listening on a picked port starts again on a fresh one; a given port is not changed', async (t) => {
  const started: ReturnType<typeof server>[] = [];
  t.teardown(() => started.forEach((c) => c.kill()));
  const port = await freePort();

  const moved = await startListening(port, true, (p) => (started.push(server(p, started.length === 0)), started.at(-1)!));
  t.equal(started.length, 2);
  t.equal(started[0].exitCode, 1, 'the first try exited');
  t.not(moved.port, port, `the second listens on ${moved.port}`);
  t.equal(moved.process, started[1]);

  const t0 = Date.now();
  await t.rejects(startListening(port, false, (p) => (started.push(server(p, true)), started.at(-1)!)), { message: `the server for 127.0.0.1:${port} exited with code 1 before listening` });
  t.equal(started.length, 3, 'a given port is tried once');
  t.ok(Date.now() - t0 < 5000, 'and the failure is reported as soon as the server exits');
});
