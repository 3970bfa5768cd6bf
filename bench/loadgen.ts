// The load generator: a Codex fleet on loopback. Each client POSTs the captured Codex request with
// stream: true, reads the SSE bytes, parses every event (eventsource-parser + JSON.parse, as Codex
// does), and records time to first byte, time to first text delta, gaps between reads that carried
// deltas, delivered tokens, and whether the stream ended in its family's completion (Responses:
// response.completed) with every token it should have. Straight at an upstream it reads that
// provider family's own events. One undici Pool per target with a connection per client, so the
// client never queues requests behind each other.
import { StringDecoder } from 'node:string_decoder';
import { createParser } from 'eventsource-parser';
import { Pool } from 'undici';
import { TOKEN_CHARS } from './profile';
import { Histogram, summarize, type Summary } from './stats';

export interface LoadSpec {
  /** Origin, e.g. http://127.0.0.1:8080. */
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The wire format of the answer (a provider family; a gateway answers in openai-responses). */
  family: string;
  /** Tokens every stream must deliver. */
  expectTokens: number;
  /** Concurrent clients (closed loop) or the cap on in-flight requests (open loop). */
  concurrency: number;
  /** Closed loop: clients start spread over rampMs and issue requests back to back. */
  rampMs: number;
  /** Open loop: requests per second (0: closed loop). */
  rate: number;
  /** No new request starts after this. */
  durationMs: number;
  /** Per client (closed loop) or in total (open loop). */
  maxRequests: number;
  /** A stream running longer than this is aborted and counted as an error. */
  timeoutMs: number;
}

export interface LoadResult {
  requests: number;
  completed: number;
  errors: number;
  errorSamples: string[];
  wallMs: number;
  tokens: number;
  events: number;
  tokensPerSec: number;
  eventsPerSec: number;
  ttfbMs: Summary;
  ttftMs: Summary;
  /** Gaps between consecutive socket reads that carried at least one delta. */
  deltaGapMs: Summary;
  /** Per-stream delivered tokens/s (first delta to completion): min shows starvation. */
  streamTokensPerSec: Summary;
  /** CPU seconds this load generator used (to show it was not the bottleneck). */
  clientCpuSec: number;
}

interface One { ok: boolean; error?: string; ttfb: number; ttft: number; tokens: number; events: number; streamRate: number }

/** What one event of a family's stream carries: answer text, and whether (and how) it ends the stream. */
interface Read { text?: string; end?: string }
type Json = Record<string, any>;

const COMPLETED = 'completed';

const READERS: Record<string, (data: string) => Read> = {
  'openai-responses': (data) => {
    const d = JSON.parse(data) as Json;
    if (d.type === 'response.output_text.delta') return { text: d.delta };
    if (d.type === 'response.completed') return { end: COMPLETED };
    if (d.type === 'response.failed' || d.type === 'response.incomplete') return { end: `${d.type}${d.response?.error?.code ? ` (${d.response.error.code})` : ''}` };
    return {};
  },
  anthropic: (data) => {
    const d = JSON.parse(data) as Json;
    if (d.type === 'content_block_delta' && d.delta?.type === 'text_delta') return { text: d.delta.text };
    if (d.type === 'message_stop') return { end: COMPLETED };
    if (d.type === 'error') return { end: `error (${d.error?.type})` };
    return {};
  },
  'openai-chat': (data) => {
    if (data === '[DONE]') return { end: COMPLETED };
    const d = JSON.parse(data) as Json;
    return { text: d.choices?.[0]?.delta?.content ?? undefined };
  },
  gemini: (data) => {
    const c = (JSON.parse(data) as Json).candidates?.[0];
    const text = (c?.content?.parts as Json[] | undefined)?.map((part) => part.text ?? '').join('');
    return { text, end: c?.finishReason ? (c.finishReason === 'STOP' ? COMPLETED : `finishReason ${c.finishReason}`) : undefined };
  },
};

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const pool = new Pool(spec.origin, {
    connections: spec.concurrency,
    pipelining: 1,
    keepAliveTimeout: 120_000,
    headersTimeout: spec.timeoutMs,
    bodyTimeout: spec.timeoutMs,
    connectTimeout: 30_000,
  });
  const gaps = new Histogram();
  const results: One[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stopAt = t0 + spec.durationMs;
  const body = Buffer.from(spec.body);
  const headers = { 'content-type': 'application/json', accept: 'text/event-stream', ...spec.headers };
  const one = () => stream(pool, spec, headers, body, gaps).then((r) => void results.push(r));

  if (spec.rate > 0) {
    // Open loop: a fixed arrival rate, independent of how fast answers come back.
    const inflight = new Set<Promise<void>>();
    const interval = 1000 / spec.rate;
    for (let i = 0; i < spec.maxRequests; i++) {
      const due = t0 + i * interval;
      if (due > stopAt) break;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (inflight.size >= spec.concurrency) await Promise.race(inflight);
      const p: Promise<void> = one().finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.all(inflight);
  } else {
    await Promise.all(Array.from({ length: spec.concurrency }, async (_, c) => {
      const delay = (c * spec.rampMs) / spec.concurrency;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      for (let n = 0; n < spec.maxRequests && performance.now() < stopAt; n++) await one();
    }));
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await pool.destroy();

  const ok = results.filter((r) => r.ok);
  const tokens = results.reduce((n, r) => n + r.tokens, 0);
  const events = results.reduce((n, r) => n + r.events, 0);
  return {
    requests: results.length,
    completed: ok.length,
    errors: results.length - ok.length,
    errorSamples: [...new Set(results.filter((r) => !r.ok).map((r) => r.error ?? '?'))].slice(0, 5),
    wallMs,
    tokens,
    events,
    tokensPerSec: tokens / (wallMs / 1000),
    eventsPerSec: events / (wallMs / 1000),
    ttfbMs: summarize(ok.map((r) => r.ttfb)),
    ttftMs: summarize(ok.map((r) => r.ttft)),
    deltaGapMs: gaps.summary(),
    streamTokensPerSec: summarize(ok.map((r) => r.streamRate)),
    clientCpuSec: (cpu.user + cpu.system) / 1e6,
  };
}

async function stream(pool: Pool, spec: LoadSpec, headers: Record<string, string>, body: Buffer, gaps: Histogram): Promise<One> {
  const r: One = { ok: false, ttfb: 0, ttft: 0, tokens: 0, events: 0, streamRate: 0 };
  const start = performance.now();
  let firstDelta = 0;
  let lastDeltaRead = 0;
  let sawDelta = false;
  let terminal = '';
  const read = READERS[spec.family];
  const parser = createParser({
    onEvent: (e) => {
      r.events++;
      const { text, end } = read(e.data);
      if (text) {
        r.tokens += text.length / TOKEN_CHARS;
        sawDelta = true;
      }
      if (end) terminal = end;
    },
  });
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), spec.timeoutMs);
  try {
    const res = await pool.request({ path: spec.path, method: 'POST', headers, body, signal: ac.signal });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      r.error = `HTTP ${res.statusCode}: ${text.slice(0, 160)}`;
      return r;
    }
    const decoder = new StringDecoder('utf8');
    for await (const chunk of res.body) {
      const now = performance.now();
      if (r.ttfb === 0) r.ttfb = now - start;
      sawDelta = false;
      parser.feed(decoder.write(chunk as Buffer));
      if (sawDelta) {
        if (firstDelta === 0) {
          firstDelta = now;
          r.ttft = now - start;
        } else gaps.add(now - lastDeltaRead);
        lastDeltaRead = now;
      }
    }
    const end = performance.now();
    r.streamRate = end > firstDelta ? r.tokens / ((end - firstDelta) / 1000) : 0;
    if (terminal !== COMPLETED) r.error = `stream ended with ${terminal || 'no terminal event'}`;
    else if (Math.round(r.tokens) !== spec.expectTokens) r.error = `delivered ${r.tokens} tokens, expected ${spec.expectTokens}`;
    else r.ok = true;
    return r;
  } catch (err) {
    const e = err as Error & { code?: string };
    r.error = ac.signal.aborted ? `timed out after ${spec.timeoutMs} ms` : `${e.code ?? e.name}: ${e.message}`;
    return r;
  } finally {
    clearTimeout(timer);
  }
}
