// The local cluster: nats-server (one, or a cluster of 3), redis-server, the demo upstream, one or
// more ingresses (behind HAProxy with `lb`) and N workers as child processes on loopback. `npm start` (deploy/main.ts), the integration tests and the
// benchmarks all start the cluster through this one function.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  /** Start a NATS cluster of this many nodes (deploy/nats/routerhub.conf) instead of one server. */
  natsCluster?: number;
  /** Put HAProxy (deploy/haproxy.cfg) in front of the ingresses: `port` is then its port. */
  lb?: 'haproxy';
  /** HAProxy's /readyz probe interval (ROUTERHUB_LB_CHECK_MS). */
  lbCheckMs?: number;
  /** Where redis-server keeps its data; in memory when unset. */
  redisDir?: string;
  /** Child output: inherit (npm start) or ignore (tests). */
  stdio?: 'inherit' | 'ignore' | 'pipe';
}

export interface Cluster {
  /** Where clients connect: the load balancer with `lb`, else the first ingress. */
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
  /** The NATS servers (one unless `natsCluster`). */
  natsNodes: Array<{ process: ChildProcess; url: string; /** nats-server's monitoring endpoint (/varz, /connz) */ monitorUrl: string }>;
  /** HAProxy, with `lb`. */
  lb: ChildProcess | null;
  /** SIGTERMs ingress `i`, waits for it to drain and exit, starts a new one on its port; resolves when that one is ready. */
  restartIngress(i: number): Promise<ChildProcess>;
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
  const instead: Record<string, string> = { 'nats-server': ', or set NATS_URL', 'redis-server': ', or set REDIS_URL' };
  throw new Error(`${name} is not installed: run \`npm start\` or \`npm test\` (they install it with apt-get)${instead[name] ?? ''}`);
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

/** Until something listens on `port`; with `server`, fails at once when that process exits instead. */
export async function waitForPort(port: number, timeoutMs = 20_000, server?: ChildProcess): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (server && (server.exitCode ?? server.signalCode) !== null) throw new ExitedBeforeListening(port, server.exitCode ?? server.signalCode);
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

class ExitedBeforeListening extends Error {
  constructor(port: number, code: number | string | null) {
    super(`the server for 127.0.0.1:${port} exited with ${typeof code === 'string' ? code : `code ${code}`} before listening`);
  }
}

/**
 * Starts a server on `port` and waits until it listens. A port picked here (not given by the caller)
 * can be taken by another process between the pick and the server's bind: clusters of parallel tests
 * pick ports at the same time. The server then exits at once, and it is started again on a fresh port.
 */
export async function startListening(port: number, picked: boolean, run: (port: number) => ChildProcess, timeoutMs?: number): Promise<{ process: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const child = run(port);
    try {
      await waitForPort(port, timeoutMs, child);
      return { process: child, port };
    } catch (err) {
      if (!picked || attempt === 3 || !(err instanceof ExitedBeforeListening)) throw err;
      port = await freePort();
    }
  }
}

/**
 * Node flags of every ingress and worker, wherever they run (the compose file, the Kubernetes manifests
 * and the Dockerfile name them too). A Codex request late in a session is megabytes of JSON, and what
 * parsing it makes (the text, large arrays) goes straight to V8's old space: under V8's first old-space
 * limit (~20 MB of heap here) every such request set off a full mark-compact, a third of a worker's CPU
 * for a 1.6 MB request. 128 MB before the first one makes it one in several requests (bench: the 1.6 MB
 * request's worker CPU ~48 → ~23 ms, the 400 KB request's ingress ~10.5 → ~7 ms), for a few tens of MB
 * more heap between collections. A command-line flag: V8 reads it before the program starts, and
 * NODE_OPTIONS does not take it.
 */
export const SERVICE_NODE_FLAGS = ['--initial-old-space-size=128'];

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
    const natsNodes: Cluster['natsNodes'] = [];
    if (!natsUrl) {
      const nodes = Math.max(1, opts.natsCluster ?? 1);
      const ports = await Promise.all(Array.from({ length: nodes }, async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })));
      const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',');
      for (const [i, p] of ports.entries()) {
        const cluster = nodes > 1 ? ['-c', join(ROOT, 'deploy', 'nats', 'routerhub.conf'), '--cluster_name', 'routerhub', '--server_name', `nats-${i + 1}`, '--cluster', `nats://127.0.0.1:${p.route}`, '--routes', routes] : [];
        natsNodes.push({
          process: start(binary('nats-server'), [...natsServerArgs(p.client), '-m', String(p.monitor), ...cluster], {}, servers),
          url: `nats://127.0.0.1:${p.client}`,
          monitorUrl: `http://127.0.0.1:${p.monitor}`,
        });
      }
      for (const p of ports) await waitForPort(p.client);
      natsUrl = natsNodes.map((n) => n.url).join(',');
    }
    let redisUrl = opts.redisUrl;
    if (!redisUrl) {
      const { port } = await startListening(await freePort(), true, (p) => start(binary('redis-server'), redisServerArgs(p, opts.redisDir), {}, servers));
      redisUrl = `redis://127.0.0.1:${port}`;
    }
    let demoUrl: string | null = null;
    if (opts.demoUpstream !== false) {
      const { port } = await startListening(await freePort(), true, (p) => start(process.execPath, [join(DIST, 'services', 'mock-upstream', 'main.js')], { PORT: String(p) }));
      demoUrl = `http://127.0.0.1:${port}`;
    }

    const redis = connectRedis(redisUrl);
    let firstAdmin: FirstAdmin | null;
    try {
      firstAdmin = await bootstrap(redis, { devKey: opts.devKey, adminKey: opts.adminKey, adminEmail: opts.adminEmail, adminPassword: opts.adminPassword });
    } finally {
      redis.disconnect();
    }

    const lbCheckMs = opts.lbCheckMs ?? Number(process.env.ROUTERHUB_LB_CHECK_MS || 1000);
    const env: Record<string, string> = {
      NATS_URL: natsUrl,
      REDIS_URL: redisUrl,
      ...(demoUrl ? { ROUTERHUB_DEMO_URL: demoUrl } : {}),
      ...(opts.modelsPath ? { ROUTERHUB_MODELS: opts.modelsPath } : {}),
      // A stopping ingress keeps listening until HAProxy saw 2 failed probes (and 2 intervals of margin);
      // with no load balancer in front there is no one to tell.
      ROUTERHUB_DRAIN_NOTICE_MS: process.env.ROUTERHUB_DRAIN_NOTICE_MS ?? String(opts.lb ? 4 * lbCheckMs : 0),
      ...opts.env,
    };
    // ROUTERHUB_NODE_FLAGS: extra node flags for the ingress and workers (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
    const flags = [...SERVICE_NODE_FLAGS, ...(process.env.ROUTERHUB_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
    // Workers start first: an ingress is ready once a worker heartbeats.
    const startWorker = () => start(process.execPath, [...flags, join(DIST, 'services', 'worker', 'main.js')], env);
    const workers = Array.from({ length: opts.workers ?? 2 }, startWorker);
    const ingresses: Cluster['ingresses'] = [];
    const startIngress = (i: number, p: number) => start(process.execPath, [...flags, join(DIST, 'services', 'ingress', 'main.js')], { ...env, ...opts.ingressEnv?.[i], PORT: String(p) });
    // Behind the load balancer every ingress has a port of its own; `port` is the balancer's.
    const lbPort = opts.lb ? opts.port || (await freePort()) : 0;
    for (let i = 0; i < (opts.ingresses ?? 1); i++) {
      const given = i === 0 && !opts.lb ? opts.port : undefined;
      const s = await startListening(given || (await freePort()), !given, (p) => startIngress(i, p));
      ingresses.push({ ...s, baseUrl: `http://127.0.0.1:${s.port}` });
    }
    const ingress = ingresses[0].process;
    const port = lbPort || ingresses[0].port;
    const { process: dashboard, port: dashboardPort } = await startListening(
      opts.dashboardPort || ((await portFree(port + 1)) ? port + 1 : await freePort()),
      !opts.dashboardPort,
      (p) => start(process.execPath, [join(DIST, 'services', 'dashboard', 'main.js')], { ...env, PORT: String(port), ROUTERHUB_DASHBOARD_PORT: String(p) }),
    );
    const baseUrl = `http://127.0.0.1:${port}`;
    for (const i of ingresses) await waitReady(i.baseUrl, i.process);
    let lb: ChildProcess | null = null;
    if (opts.lb === 'haproxy') {
      lb = startHaproxy(start, { port, dashboardPort, ingressPorts: ingresses.map((i) => i.port), checkMs: lbCheckMs });
      await waitReady(baseUrl, lb, 'HAProxy');
    }

    return {
      baseUrl, port, natsUrl, redisUrl, demoUrl, devKey: opts.devKey, ingress, ingresses, workers, dashboard, firstAdmin, natsNodes, lb,
      dashboardUrl: `http://127.0.0.1:${dashboardPort}`,
      async restartIngress(i) {
        const old = ingresses[i];
        if (old.process.exitCode === null && old.process.signalCode === null) {
          await new Promise<void>((resolve) => {
            old.process.once('exit', () => resolve());
            old.process.kill('SIGTERM');
          });
        }
        const next = startIngress(i, old.port);
        ingresses[i] = { ...old, process: next };
        await waitReady(old.baseUrl, next);
        return next;
      },
      async addWorker() {
        // A worker that exited a moment ago counts as live at the ingress until its dead window has
        // passed; its going would hide the new one's arrival. Wait until the count is of running ones.
        const running = () => workers.filter((w) => w.exitCode === null && w.signalCode === null).length;
        const settled = Date.now() + 10_000;
        let before = await liveWorkers(baseUrl);
        while (before > running() && Date.now() < settled) before = await sleep(50).then(() => liveWorkers(baseUrl));
        const w = startWorker();
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

/**
 * HAProxy from deploy/haproxy.cfg, the file an operator deploys, with one `server` line per ingress
 * appended (its last section is the ingress backend) and loopback addresses in its variables.
 */
function startHaproxy(
  start: (cmd: string, args: string[], env?: Record<string, string>) => ChildProcess,
  o: { port: number; dashboardPort: number; ingressPorts: number[]; checkMs: number },
): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'rh-haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  const servers = o.ingressPorts.map((p, i) => `    server ingress${i + 1} 127.0.0.1:${p}\n`).join('');
  writeFileSync(cfg, `${readFileSync(join(ROOT, 'deploy', 'haproxy.cfg'), 'utf8').trimEnd()}\n${servers}`);
  const env = { ROUTERHUB_LB_BIND: `127.0.0.1:${o.port}`, ROUTERHUB_DASHBOARD_ADDR: `127.0.0.1:${o.dashboardPort}`, ROUTERHUB_LB_CHECK_MS: String(o.checkMs) };
  const haproxy = binary('haproxy');
  try {
    execFileSync(haproxy, ['-c', '-q', '-f', cfg], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new Error(`HAProxy rejects the configuration ${cfg}: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
  }
  const child = start(haproxy, ['-db', '-f', cfg], env);
  child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return child;
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

/** Until `baseUrl`/readyz answers 200 (an ingress, or the load balancer once an ingress behind it is up). */
async function waitReady(baseUrl: string, server: ChildProcess, name = 'the ingress', timeoutMs = 40_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    if (server.exitCode !== null) throw new Error(`${name} exited with code ${server.exitCode} (see its log above)`);
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
