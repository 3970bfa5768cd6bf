// Test support: a real local cluster (nats-server, redis-server, ingress, workers as processes)
// in front of an in-process mock upstream that the test scripts, and an SSE client that reads the
// real bytes. Used by services/tests and bench.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createParser } from 'eventsource-parser';
import { startCluster, type Cluster, type ClusterOptions } from '../../deploy/cluster';
import { MockUpstream, type MockUpstreamOptions } from '../providers/mock/server';
import type { ModelEntry } from '../routing/catalog';
import { generateKey } from '../store/keys';
import { tempDir } from './temp';

export interface TestCluster {
  cluster: Cluster;
  mock: MockUpstream;
  /** The dev key (an API key of the default account). */
  key: string;
  /** A management key: admin on the control API. */
  adminKey: string;
  stop(): Promise<void>;
}

/** Models whose deployments point at the mock: `<id>` → [family, base path] per deployment. */
export type MockModel = Omit<ModelEntry, 'deployments'> & { deployments: Array<Partial<ModelEntry['deployments'][number]> & { provider: string }> };

export function mockCatalog(mockUrl: string, models: MockModel[]): string {
  const doc = {
    models: models.map((m) => ({
      pricing: { input: 1.25, cached_input: 0.125, output: 10 },
      ...m,
      deployments: m.deployments.map((d, i) => ({ base_url: `${mockUrl}/v1`, model: `${m.id.split('/')[1]}-${i}`, priority: i, ...d })),
    })),
  };
  const path = join(tempDir('rh-catalog-'), 'models.json');
  writeFileSync(path, JSON.stringify(doc, null, 2));
  return path;
}

/** Where the mock upstream serves each provider family's API (Gemini's is under /v1beta). */
const MOCK_BASE = { 'openai-responses': '/v1', anthropic: '/v1', gemini: '/v1beta', 'openai-chat': '/v1' } as const;
const SHORT_NAME = { 'openai-responses': 'responses', anthropic: 'anthropic', gemini: 'gemini', 'openai-chat': 'chat' } as const;
export type Family = keyof typeof MOCK_BASE;
export interface FamilyModel { family: Family; model: string; base: string }

/** One model per provider family, at its family's base path on the mock: `<prefix>/responses`, `/anthropic`, `/gemini`, `/chat`, or the names given. */
export function everyFamily(names: string | Record<Family, string>): FamilyModel[] {
  return (Object.keys(MOCK_BASE) as Family[]).map((family) => ({
    family,
    model: typeof names === 'string' ? `${names}/${SHORT_NAME[family]}` : names[family],
    base: MOCK_BASE[family],
  }));
}

/** A catalog entry per model, served by the mock (`extra`: more fields of each entry, e.g. pricing). */
export function familyCatalog(mockUrl: string, models: FamilyModel[], extra: Omit<Partial<MockModel>, 'id' | 'deployments'> = {}): MockModel[] {
  return models.map((f) => ({ id: f.model, ...extra, deployments: [{ provider: f.family, base_url: `${mockUrl}${f.base}` }] }));
}

export async function startTestCluster(
  models: (mockUrl: string) => MockModel[],
  opts: Partial<ClusterOptions> = {},
  mockOpts: MockUpstreamOptions = {},
): Promise<TestCluster> {
  const mock = await MockUpstream.start(mockOpts);
  const key = generateKey();
  const adminKey = generateKey();
  try {
    // Deployment health is off unless a test asks for it: tests that script upstream failures one after
    // another on a shared deployment would otherwise see it cooling down or ejected by the test before.
    const env = { ROUTERHUB_DEPLOYMENT_HEALTH: 'off', ...opts.env };
    const cluster = await startCluster({ devKey: key, adminKey, demoUpstream: false, workers: 2, modelsPath: mockCatalog(mock.url, models(mock.url)), ...opts, env });
    return { cluster, mock, key, adminKey, stop: async () => { await cluster.stop(); await mock.close(); } };
  } catch (err) {
    await mock.close();
    throw err;
  }
}

export interface SseEvent { event?: string; data: Record<string, unknown> & { type: string } }

export interface ClientResult {
  status: number;
  headers: Headers;
  /** Parsed events (stream: true). */
  events: SseEvent[];
  /** The JSON body (errors and stream: false). */
  json: Record<string, unknown> | null;
  raw: string;
}

/** POST /v1/responses and read the whole answer: SSE events parsed from the real bytes. A string or bytes body is sent as is. */
export async function postResponses(baseUrl: string, key: string | null, body: unknown, init: { signal?: AbortSignal; onEvent?: (e: SseEvent) => void; headers?: Record<string, string> } = {}): Promise<ClientResult> {
  const res = await fetch(`${baseUrl}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...init.headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
    signal: init.signal,
  });
  const events: SseEvent[] = [];
  const parser = createParser({
    onEvent: (e) => {
      const ev = { event: e.event, data: JSON.parse(e.data) as SseEvent['data'] };
      events.push(ev);
      init.onEvent?.(ev);
    },
  });
  let raw = '';
  const decoder = new TextDecoder();
  if (res.body) {
    for await (const chunk of res.body) {
      const text = decoder.decode(chunk as Uint8Array, { stream: true });
      raw += text;
      if (res.headers.get('content-type')?.startsWith('text/event-stream')) parser.feed(text);
    }
  }
  let json: Record<string, unknown> | null = null;
  if (res.headers.get('content-type')?.startsWith('application/json')) json = JSON.parse(raw) as Record<string, unknown>;
  return { status: res.status, headers: res.headers, events, json, raw };
}

export interface ApiResult { status: number; headers: Headers; body: Record<string, any> }

/** One control-API call (JSON in, JSON out) to the dashboard service; `auth` is a key or a session cookie. */
export async function api(dashboardUrl: string, method: string, path: string, opts: { key?: string; cookie?: string; body?: unknown; origin?: string } = {}): Promise<ApiResult> {
  const headers: Record<string, string> = {};
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.origin) headers.origin = opts.origin;
  const res = await fetch(`${dashboardUrl}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

export const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

export function terminals(events: SseEvent[]): SseEvent[] {
  return events.filter((e) => TERMINAL.has(e.data.type));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `cond` holds or `ms` pass; returns whether it held. For effects seen by another process a moment later. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number, everyMs = 50): Promise<boolean> {
  const until = Date.now() + ms;
  while (!(await cond()) && Date.now() < until) await sleep(everyMs);
  return cond();
}
