// Processes of the bench: CPU pinning (taskset), the upstream and load-generator children, and
// CPU/RSS sampling of any pid from /proc. On 2 cores the gateway under test gets CPU 0 and the
// harness (load generator + upstream) CPU 1, so neither steals the other's time.
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Cluster } from '../deploy/cluster';
import type { LoadResult, LoadSpec } from './loadgen';

const HAS_TASKSET = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
export const CPUS = availableParallelism();
/** CPU sets: the gateway under test, and the harness. Empty when we cannot or need not pin. */
export const PIN = HAS_TASKSET && CPUS >= 2 ? { gateway: '0', harness: String(CPUS - 1) } : { gateway: '', harness: '' };

/** Pins every thread of `pid` (children started later inherit it). */
export function pin(pid: number, cpus: string): void {
  if (cpus) spawnSync('taskset', ['-apc', cpus, String(pid)], { stdio: 'ignore' });
}

export interface UpstreamProc { url: string; proc: ChildProcess; stop(): Promise<void> }

export async function startUpstream(): Promise<UpstreamProc> {
  const { proc, line: url } = await startNode([join(__dirname, 'upstream-main.js')], PIN.harness, 'bench upstream');
  return { url, proc, stop: () => stopChild(proc) };
}

/**
 * `node <args>` pinned to `cpus`, once it printed its first line (its URL, port or "ready"); stopped
 * again when it exits first.
 */
export async function startNode(args: string[], cpus: string, what: string): Promise<{ proc: ChildProcess; line: string }> {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  pin(proc.pid!, cpus);
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).once('line', resolve);
      proc.once('exit', (code) => reject(new Error(`${what} exited with ${code}`)));
    });
    return { proc, line };
  } catch (err) {
    await stopChild(proc);
    throw err;
  }
}

/** One measurement in a fresh load-generator process. */
export function runLoadProcess(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'loadgen-main.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=4096'] });
    pin(child.pid!, PIN.harness);
    let done = false;
    child.once('message', (m: { result?: LoadResult; error?: string }) => {
      done = true;
      if (m.result) resolve(m.result);
      else reject(new Error(`load generator failed: ${m.error}`));
    });
    child.once('exit', (code) => !done && reject(new Error(`load generator exited with ${code}`)));
    child.send(spec);
  });
}

export function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => c.kill('SIGKILL'), 5000);
    c.once('exit', () => (clearTimeout(kill), resolve()));
    c.kill('SIGTERM');
  });
}

/** Direct children of this process (to find nats-server, which the cluster handle does not expose). */
function childPids(): Array<{ pid: number; comm: string }> {
  try {
    return readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
      .map((p) => ({ pid: Number(p), comm: readFileSync(`/proc/${p}/comm`, 'utf8').trim() }));
  } catch {
    return [];
  }
}

/** A cluster's processes by name (ingress, worker0…, nats, redis), as the CPU and memory figures name them. */
export function gatewayPids(c: Cluster): Record<string, number> {
  const pids: Record<string, number> = { ingress: c.ingress.pid! };
  c.workers.forEach((w, i) => (pids[`worker${i}`] = w.pid!));
  const children = childPids();
  for (const [name, comm] of [['nats', 'nats-server'], ['redis', 'redis-server']]) {
    const child = children.find((p) => p.comm === comm);
    if (child) pids[name] = child.pid;
  }
  return pids;
}

const TICKS = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14, 15)
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** `rssHeldMiB`: the RSS at `heldAtMs` after the start, when one was asked for (the fleet rows: every stream open). */
export interface ProcUsage { cpuPercent: number; cpuSec: number; rssStartMiB: number; rssPeakMiB: number; rssEndMiB: number; rssHeldMiB?: number }

/** Samples CPU and RSS of named pids every 500 ms until stopped, and the RSS once at `heldAtMs`. */
export function sampleProcs(pids: Record<string, number>, heldAtMs?: number): { stop(): Record<string, ProcUsage> } {
  const t0 = performance.now();
  const start: Record<string, number> = {};
  const peak: Record<string, number> = {};
  const rss0: Record<string, number> = {};
  const held: Record<string, number> = {};
  const read = (pid: number, f: (pid: number) => number) => {
    try {
      return f(pid);
    } catch {
      return 0; // the process is gone
    }
  };
  for (const [name, pid] of Object.entries(pids)) {
    start[name] = read(pid, cpuTicks);
    peak[name] = rss0[name] = read(pid, rssBytes);
  }
  const timer = setInterval(() => {
    for (const [name, pid] of Object.entries(pids)) peak[name] = Math.max(peak[name], read(pid, rssBytes));
  }, 500);
  const mark = heldAtMs === undefined ? undefined : setTimeout(() => {
    for (const [name, pid] of Object.entries(pids)) held[name] = read(pid, rssBytes);
  }, heldAtMs);
  return {
    stop() {
      clearInterval(timer);
      clearTimeout(mark);
      const secs = (performance.now() - t0) / 1000;
      const out: Record<string, ProcUsage> = {};
      for (const [name, pid] of Object.entries(pids)) {
        const cpuSec = (read(pid, cpuTicks) - start[name]) / TICKS;
        const rss = read(pid, rssBytes);
        out[name] = { cpuPercent: (100 * cpuSec) / secs, cpuSec, rssStartMiB: rss0[name] / 2 ** 20, rssPeakMiB: Math.max(peak[name], rss) / 2 ** 20, rssEndMiB: rss / 2 ** 20 };
        if (name in held) out[name].rssHeldMiB = held[name] / 2 ** 20;
      }
      return out;
    },
  };
}
