// Test support for the fault suite: nats-server and redis-server processes a test can kill, pause and
// restart on the same port (the cluster connects to them by URL), a bounded client that classifies
// how a request ended, a /healthz watcher, and the ingress's gauges. Used by services/tests/faults*.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binary, freePort, natsServerArgs, redisServerArgs, startListening, waitForPort } from '../../deploy/cluster';
import { postResponses, sleep, terminals, waitUntil, type SseEvent } from './cluster';

/** A server process on a fixed port that can be killed, paused and started again. */
export class ServerProcess {
  private child: ChildProcess | null = null;

  private constructor(private readonly command: string, private readonly args: string[], readonly port: number, private readonly cleanup: () => void) {}

  /** nats-server on a free port. */
  static nats(): Promise<ServerProcess> {
    return ServerProcess.onFreePort(binary('nats-server'), natsServerArgs, () => undefined);
  }

  /** redis-server on a free port with an append-only file in a fresh directory (removed by stop()). */
  static redis(): Promise<ServerProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'rh-faults-redis-'));
    return ServerProcess.onFreePort(binary('redis-server'), (port) => redisServerArgs(port, dir), () => rmSync(dir, { recursive: true, force: true }));
  }

  private static async onFreePort(command: string, argsFor: (port: number) => string[], cleanup: () => void): Promise<ServerProcess> {
    const { process: child, port } = await startListening(await freePort(), true, (p) => spawn(command, argsFor(p), { stdio: 'ignore' }));
    const server = new ServerProcess(command, argsFor(port), port, cleanup);
    server.child = child;
    return server;
  }

  /** The running process's pid (the bench pins it to a CPU and reads its CPU time). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get url(): string {
    return `${this.command.endsWith('nats-server') ? 'nats' : 'redis'}://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.child = spawn(this.command, this.args, { stdio: 'ignore' });
    await waitForPort(this.port, undefined, this.child);
    return this;
  }

  /** SIGKILL, and wait until the process is gone (the port is free again). */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** SIGSTOP: the process keeps its sockets but answers nothing (a hung server). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    this.resume();
    await this.kill();
    this.cleanup();
  }
}

/** How one request ended, seen by a client that gives up after its deadline. */
export interface BoundedResult {
  /** HTTP status, or null when no answer came (network error or the deadline). */
  status: number | null;
  events: SseEvent[];
  json: Record<string, unknown> | null;
  /** The client's deadline passed. */
  hung: boolean;
  /** A network error (reset, closed without an answer). */
  error: string | null;
  ms: number;
}

/** POST /v1/responses with a client-side deadline: never waits longer than `deadlineMs`. */
export async function boundedResponses(baseUrl: string, key: string, body: unknown, deadlineMs: number, init: { signal?: AbortSignal; onEvent?: (e: SseEvent) => void } = {}): Promise<BoundedResult> {
  const startedAt = Date.now();
  const deadline = AbortSignal.timeout(deadlineMs);
  const signal = init.signal ? AbortSignal.any([deadline, init.signal]) : deadline;
  const events: SseEvent[] = [];
  try {
    const r = await postResponses(baseUrl, key, body, { signal, onEvent: (e) => (events.push(e), init.onEvent?.(e)) });
    return { status: r.status, events, json: r.json, hung: false, error: null, ms: Date.now() - startedAt };
  } catch (err) {
    const hung = deadline.aborted;
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { status: null, events, json: null, hung, error: hung ? null : `${(err as Error).name}: ${(err as Error).message}${cause ? ` (${cause})` : ''}`, ms: Date.now() - startedAt };
  }
}

/**
 * What is wrong with how a request ended, or null: a request ends with exactly one terminal event,
 * or with a clean HTTP error (an OpenAI-shaped body) before any streaming.
 */
export function badEnding(r: BoundedResult): string | null {
  if (r.hung) return `no end within the deadline (${r.ms} ms, ${r.events.length} events)`;
  if (r.error) return `network error: ${r.error}`;
  if (r.status === 200) {
    const ends = terminals(r.events);
    if (r.events.length === 0 && r.json) return typeof r.json.status === 'string' ? null : `200 without a Response object: ${JSON.stringify(r.json).slice(0, 200)}`;
    if (ends.length !== 1) return `${ends.length} terminal events`;
    if (r.events.at(-1) !== ends[0]) return 'events after the terminal event';
    return null;
  }
  return openAiErrorShape(r.json) ? null : `${r.status} without an OpenAI error body`;
}

/** {"error":{"message","type","param","code"}}: message and type strings, param and code string or null. */
export function openAiErrorShape(body: unknown): boolean {
  const e = (body as { error?: Record<string, unknown> } | null)?.error;
  if (!e || typeof e !== 'object') return false;
  const strOrNull = (v: unknown) => v === null || typeof v === 'string';
  return typeof e.message === 'string' && e.message.length > 0 && typeof e.type === 'string' && 'param' in e && strOrNull(e.param) && 'code' in e && strOrNull(e.code);
}

/** The ingress's request gauges from /metrics. */
export async function ingressGauges(baseUrl: string): Promise<{ waiting: number; active: number }> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { waiting: value('routerhub_waiting_request_bytes'), active: value('routerhub_active_streams') };
}

/** Waits until the ingress holds no request bytes and no streams; returns the last gauges seen and whether they reached 0. */
export async function waitIdle(baseUrl: string, ms = 5000): Promise<{ idle: boolean; waiting: number; active: number }> {
  let last = { waiting: NaN, active: NaN };
  const idle = await waitUntil(async () => {
    last = await ingressGauges(baseUrl).catch(() => last);
    return last.waiting === 0 && last.active === 0;
  }, ms, 100);
  return { idle, ...last };
}

export interface HealthRecord { checks: number; failures: string[]; worstMs: number }

/** Polls GET /healthz every `everyMs` (each with a 1 s deadline) until stopped: liveness throughout a fault. */
export function watchHealth(baseUrl: string, everyMs = 100): { stop(): Promise<HealthRecord> } {
  const record: HealthRecord = { checks: 0, failures: [], worstMs: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const startedAt = Date.now();
      try {
        const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
        await res.text();
        if (res.status !== 200) record.failures.push(`status ${res.status}`);
      } catch (err) {
        record.failures.push((err as Error).message);
      }
      record.checks++;
      record.worstMs = Math.max(record.worstMs, Date.now() - startedAt);
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return record;
    },
  };
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same sequence, so a failing run can be replayed. */
export class SeededRandom {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The problems of a set of endings (`label #i: what`), empty when every request ended well. */
export function badEndings(results: BoundedResult[], label: string): string[] {
  const out: string[] = [];
  results.forEach((r, i) => {
    const bad = badEnding(r);
    if (bad) out.push(`${label} #${i}: ${bad}`);
  });
  return out;
}

/** How many ended which way: `completed`, `failed:<code>`, `http_<status>`, `hung`, `network`. */
export function tally(results: BoundedResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const end = terminals(r.events)[0]?.data;
    const error = (end?.response as { error?: { code?: string } } | undefined)?.error;
    const what = r.hung ? 'hung' : r.error ? 'network' : end ? (end.type === 'response.failed' ? `failed:${error?.code}` : end.type.slice('response.'.length)) : r.status === 200 ? 'json' : `http_${r.status}`;
    counts[what] = (counts[what] ?? 0) + 1;
  }
  return counts;
}
