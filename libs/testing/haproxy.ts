// Test support: a real haproxy running deploy/haproxy.cfg as shipped, in front of a test cluster's
// ingresses: the front door an operator deploys, for tests of what reaches RouterHub through it.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { binary, freePort, paths, waitForPort } from '../../deploy/cluster';
import { waitUntil } from './cluster';

export interface LoadBalancer { port: number; url: string; log(): string; stop(): Promise<void> }

/** haproxy on a free port, balancing over the first two of `ingresses` (the only one, twice); resolves once it serves /readyz. */
export async function startLoadBalancer(ingresses: Array<{ port: number }>): Promise<LoadBalancer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const [one, two = one] = ingresses;
  const child = spawn(binary('haproxy'), ['-f', join(paths.ROOT, 'deploy', 'haproxy.cfg'), '-db'], {
    env: { ...process.env, ROUTERHUB_LB_BIND: `127.0.0.1:${port}`, ROUTERHUB_INGRESS_1: `127.0.0.1:${one.port}`, ROUTERHUB_INGRESS_2: `127.0.0.1:${two.port}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitForPort(port);
    const ready = await waitUntil(async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200, 10_000);
    if (!ready) throw new Error(`haproxy does not serve /readyz: ${log.slice(-2000)}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, url, log: () => log, stop };
}
