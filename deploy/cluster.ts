// The local cluster: nats-server, redis-server, the demo upstream, one ingress and N workers as
// child processes on loopback. `npm start` (deploy/main.ts), the integration tests and the
// benchmarks all start the cluster through this one function.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { bootstrap, type FirstAdmin } from '../libs/control/bootstrap';
import { connectRedis } from '../libs/store/redis';

const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');

export interface ClusterOptions {
  /** Ingress port (0: a free one). */
  port?: number;
  workers?: number;
  /** Use running servers instead of starting our own. */
  natsUrl?: string;
  redisUrl?: string;
  /** The key the cluster accepts (registered in Redis at start, in the default account). */
  devKey: string;
  /** A management key for the control API (ROUTERHUB_ADMIN_KEY), registered at start. */
  adminKey?: string;
  /** The first admin user, created when Redis has no user yet (password generated when unset). */
  adminEmail?: string;
  adminPassword?: string;
  /** Control API port (0 or unset: the ingress port + 1, or a free one when that is taken). */
  dashboardPort?: number;
  /** Ingresses to start (each on its own port, sharing NATS and Redis); 1 by default. */
  ingresses?: number;
  /** Extra environment per ingress, by index (e.g. one ingress failing open). */
  ingressEnv?: Array<Record<string, string>>;
  modelsPath?: string;
  /** Start the demo upstream (the mock provider behind the demo model). */
  demoUpstream?: boolean;
  /** Extra environment for the ingress and the workers (e.g. upstream keys, timeouts). */
  env?: Record<string, string>;
  /** Where redis-server keeps its data; in memory when unset. */
  redisDir?: string;
  /** Child output: inherit (npm start) or ignore (tests). */
  stdio?: 'inherit' | 'ignore' | 'pipe';
}

export interface Cluster {
  baseUrl: string;
  port: number;
  natsUrl: string;
  redisUrl: string;
  demoUrl: string | null;
  devKey: string;
  /** The control API's base URL (`…/api/v1/` under it). */
  dashboardUrl: string;
  /** The first admin when this start created it (its password only when generated). */
  firstAdmin: FirstAdmin | null;
  ingress: ChildProcess;
  /** Every ingress (the first is `ingress`), with its base URL. */
  ingresses: Array<{ process: ChildProcess; baseUrl: string; port: number }>;
  dashboard: ChildProcess;
  workers: ChildProcess[];
  /** Starts one more worker; resolves when it heartbeats (the ingress reports it live). */
  addWorker(): Promise<ChildProcess>;
  stop(): Promise<void>;
}

export function binary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/usr/local/bin'])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} is not installed: run \`npm start\` or \`npm test\` (they install it with apt-get), or set ${name === 'nats-server' ? 'NATS_URL' : 'REDIS_URL'}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

export function natsServerArgs(port: number): string[] {
  return ['-a', '127.0.0.1', '-p', String(port)];
}

/** With a data directory: an append-only file synced every second (a crash loses at most a second). */
export function redisServerArgs(port: number, dir?: string): string[] {
  const persistence = dir
    ? (mkdirSync(dir, { recursive: true }), ['--dir', dir, '--save', '60', '1', '--appendonly', 'yes', '--appendfsync', 'everysec'])
    : ['--save', '', '--appendonly', 'no'];
  return ['--bind', '127.0.0.1', '--port', String(port), '--loglevel', 'warning', ...persistence];
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  // Servers stop last, so that the ingress and workers drain against a live NATS and Redis.
  const servers: ChildProcess[] = [];
  const apps: ChildProcess[] = [];
  const stdio = opts.stdio ?? 'ignore';
  // Logs are JSON lines; on a terminal (npm start) they are printed for people unless asked otherwise.
  const logFormat = stdio === 'inherit' && !process.env.ROUTERHUB_LOG_FORMAT ? { ROUTERHUB_LOG_FORMAT: 'pretty' } : {};
  const start = (cmd: string, args: string[], env: Record<string, string> = {}, group = apps) => {
    const child = spawn(cmd, args, { stdio: ['ignore', stdio, stdio], env: { ...process.env, ...logFormat, ...env } });
    group.push(child);
    return child;
  };
  const stop = async () => {
    await stopAll(apps);
    await stopAll(servers);
  };
  try {
    let natsUrl = opts.natsUrl;
    if (!natsUrl) {
      const port = await freePort();
      start(binary('nats-server'), natsServerArgs(port), {}, servers);
      await waitForPort(port);
      natsUrl = `nats://127.0.0.1:${port}`;
    }
    let redisUrl = opts.redisUrl;
    if (!redisUrl) {
      const port = await freePort();
      start(binary('redis-server'), redisServerArgs(port, opts.redisDir), {}, servers);
      await waitForPort(port);
      redisUrl = `redis://127.0.0.1:${port}`;
    }
    let demoUrl: string | null = null;
    if (opts.demoUpstream !== false) {
      const port = await freePort();
      start(process.execPath, [join(DIST, 'services', 'mock-upstream', 'main.js')], { PORT: String(port) });
      await waitForPort(port);
      demoUrl = `http://127.0.0.1:${port}`;
    }

    const redis = connectRedis(redisUrl);
    let firstAdmin: FirstAdmin | null;
    try {
      firstAdmin = await bootstrap(redis, { devKey: opts.devKey, adminKey: opts.adminKey, adminEmail: opts.adminEmail, adminPassword: opts.adminPassword });
    } finally {
      redis.disconnect();
    }

    const port = opts.port || (await freePort());
    const env: Record<string, string> = {
      NATS_URL: natsUrl,
      REDIS_URL: redisUrl,
      ...(demoUrl ? { ROUTERHUB_DEMO_URL: demoUrl } : {}),
      ...(opts.modelsPath ? { ROUTERHUB_MODELS: opts.modelsPath } : {}),
      ...opts.env,
    };
    // ROUTERHUB_NODE_FLAGS: extra node flags for the ingress and workers (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
    const flags = (process.env.ROUTERHUB_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const ingresses: Cluster['ingresses'] = [];
    for (let i = 0; i < (opts.ingresses ?? 1); i++) {
      const p = i === 0 ? port : await freePort();
      ingresses.push({ process: start(process.execPath, [...flags, join(DIST, 'services', 'ingress', 'main.js')], { ...env, ...opts.ingressEnv?.[i], PORT: String(p) }), baseUrl: `http://127.0.0.1:${p}`, port: p });
    }
    const ingress = ingresses[0].process;
    const dashboardPort = opts.dashboardPort || ((await portFree(port + 1)) ? port + 1 : await freePort());
    const dashboard = start(process.execPath, [join(DIST, 'services', 'dashboard', 'main.js')], { ...env, PORT: String(port), ROUTERHUB_DASHBOARD_PORT: String(dashboardPort) });
    const workers: ChildProcess[] = [];
    for (let i = 0; i < (opts.workers ?? 2); i++) workers.push(start(process.execPath, [...flags, join(DIST, 'services', 'worker', 'main.js')], env));
    const baseUrl = `http://127.0.0.1:${port}`;
    for (const i of ingresses) await waitReady(i.baseUrl, i.process);
    await waitForPort(dashboardPort);

    return {
      baseUrl, port, natsUrl, redisUrl, demoUrl, devKey: opts.devKey, ingress, ingresses, workers, dashboard, firstAdmin,
      dashboardUrl: `http://127.0.0.1:${dashboardPort}`,
      async addWorker() {
        const before = await liveWorkers(baseUrl);
        const w = start(process.execPath, [...flags, join(DIST, 'services', 'worker', 'main.js')], env);
        workers.push(w);
        const until = Date.now() + 10_000;
        while ((await liveWorkers(baseUrl)) <= before && Date.now() < until) await sleep(50);
        return w;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function liveWorkers(baseUrl: string): Promise<number> {
  try {
    const res = await fetch(`${baseUrl}/readyz`);
    return ((await res.json()) as { live_workers: number }).live_workers;
  } catch {
    return 0;
  }
}

async function waitReady(baseUrl: string, ingress: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    if (ingress.exitCode !== null) throw new Error(`the ingress exited with code ${ingress.exitCode} (see its log above)`);
    try {
      const res = await fetch(`${baseUrl}/readyz`);
      last = await res.text();
      if (res.status === 200) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`the cluster did not become ready in ${timeoutMs} ms: ${last}`);
}

/** SIGTERM everything (workers and ingress drain), SIGKILL what is still there after 8 s. */
async function stopAll(children: ChildProcess[]): Promise<void> {
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  await Promise.all(alive.map((c) => new Promise<void>((resolve) => {
    const kill = setTimeout(() => c.kill('SIGKILL'), 8000);
    c.once('exit', () => (clearTimeout(kill), resolve()));
    c.kill('SIGTERM');
  })));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export const paths = { ROOT, DIST };
