// The response cache, worker side: whether a request is cached (the catalog's `response_cache`, or
// the client's `x-routerhub-cache` header), its key (account, model and the request without the
// fields that do not change the answer), the recording of a response's frames as they leave for
// the ingress, and their replay under a new response id. Hits replay the frames the first client
// got, through the same ingress path; they bill zero tokens.
import { createHash } from 'node:crypto';
import { parseJsonBytes } from '../protocol/json-bytes';
import type { OutputItem, ResponsesRequest, Usage } from '../protocol/types';
import { inputItems } from '../providers/input';
import { makeUsage } from '../providers/usage';
import type { ResponseCachePolicy, RoutePlan } from '../routing/catalog';
import type { ResponseCacheStore } from '../store/response-cache';
import { metrics } from '../telemetry/metrics';
import { decode, encode, F, type Frame } from '../wire/frames';
import type { CacheMode, Job } from '../wire/job';

export interface ResponseCacheSettings {
  /** TTL of an entry a request asked for (header) on a model whose catalog entry sets none. */
  defaultTtlS: number;
  /** A response whose frames take more is not stored. */
  maxEntryBytes: number;
}

/**
 * Fields that do not change what the model answers: how it is delivered, the conversation's own
 * identifiers (Codex's thread id in `prompt_cache_key`), bookkeeping. An evaluation rerun in a new
 * Codex session hits although its thread id is new.
 */
const IGNORED_FIELDS = ['stream', 'stream_options', 'store', 'background', 'metadata', 'client_metadata', 'prompt_cache_key', 'safety_identifier', 'user', 'service_tier'];

/** Frames that make up the answer (not the worker's protocol: accepted, started, keep-alive, terminal). */
const CONTENT: ReadonlySet<number> = new Set([F.ItemAdded, F.TextDelta, F.ReasoningDelta, F.ArgsDelta, F.CustomInputDelta, F.ItemDone, F.ResponseFields, F.PassThrough]);

const ENTRY_VERSION = 1;

interface Entry { v: number; idBase: string; chunks: Uint8Array[] }

/** The cache's part in one job: a hit's frames, or where a miss is stored and its recorder. */
export type CacheLookup =
  | { status: 'hit'; frames: Frame[] }
  | { status: 'miss'; hash: string; ttlMs: number; recorder: ResponseRecorder }
  | { status: 'bypass' };

/** Whether the request is cached (null: not at all), and for how long. */
export function cacheDecision(plan: RoutePlan, mode: CacheMode | undefined, req: ResponsesRequest, defaultTtlS: number): { ttlMs: number } | 'bypass' | null {
  const policy: ResponseCachePolicy | undefined = plan.responseCache;
  if (!cacheAsked(plan, mode)) return null;
  // A tool's output reflects the world at the time it ran: replaying the answer to it could be stale.
  const toolOutputs = mode === 'include-tool-outputs' || policy?.tool_outputs === true;
  if (!toolOutputs && hasToolOutputs(req)) return 'bypass';
  return { ttlMs: (policy?.ttl_s ?? defaultTtlS) * 1000 };
}

/** Whether the catalog or the client's header asks for the response cache at all (decided without the body). */
export function cacheAsked(plan: RoutePlan, mode: CacheMode | undefined): boolean {
  return mode !== 'off' && (Boolean(mode) || Boolean(plan.responseCache));
}

export function hasToolOutputs(req: ResponsesRequest): boolean {
  return inputItems(req).some((item) => typeof item.type === 'string' && item.type.endsWith('_output'));
}

/** The entry's name: account, model and the request without IGNORED_FIELDS, keys sorted at every level. */
export function requestHash(accountId: string, model: string, req: ResponsesRequest): string {
  const kept = Object.fromEntries(Object.entries(req).filter(([k]) => !IGNORED_FIELDS.includes(k)));
  return createHash('sha256').update(`${accountId}\n${model}\n`).update(canonicalJson(kept)).digest('hex');
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v));
}

/**
 * Keeps the content frames of a response exactly as they are encoded for the ingress (encoded at
 * the moment they leave: a later change to a shared item cannot alter them). Past `maxBytes` it
 * drops what it kept and stops: the response is served, not stored.
 */
export class ResponseRecorder {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  overflowed = false;

  constructor(private readonly maxBytes: number) {}

  add(frames: Frame[]): void {
    if (this.overflowed) return;
    const kept = frames.filter((f) => CONTENT.has(f[0]));
    if (kept.length === 0) return;
    const data = encode(kept);
    this.bytes += data.byteLength;
    if (this.bytes > this.maxBytes) {
      this.overflowed = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(data);
  }

  /** The entry to store; `idBase` is the response's item-id base (OutputBuilder), renamed on replay. */
  entry(idBase: string): Buffer {
    return Buffer.from(encode({ v: ENTRY_VERSION, idBase, chunks: this.chunks } satisfies Entry));
  }
}

/** A stored entry's frames with the item ids of the response that made it renamed to this one's. */
export function replayFrames(entry: Uint8Array, idBase: string): Frame[] | null {
  const e = decode<Entry>(entry);
  if (e?.v !== ENTRY_VERSION || !Array.isArray(e.chunks)) return null;
  const frames = e.chunks.flatMap((c) => decode<Frame[]>(c));
  for (const f of frames) if (f[0] === F.ItemAdded || f[0] === F.ItemDone) renameIds(f[2], e.idBase, idBase);
  return frames;
}

function renameIds(item: OutputItem, from: string, to: string): void {
  const ids = item as unknown as Record<string, unknown>;
  for (const field of ['id', 'call_id']) if (typeof ids[field] === 'string') ids[field] = (ids[field] as string).replace(from, to);
}

/** What a hit is billed: nothing (the client sees usage with zero tokens and zero cost). */
export function hitUsage(): Usage {
  return { ...makeUsage({ input: 0, cacheRead: 0, output: 0, reasoning: 0 }), cost: 0 };
}

/** The item-id base of a response (OutputBuilder's): unique per response id. */
export const itemIdBase = (responseId: string) => `${responseId.slice(5)}_`;

export class ResponseCache {
  constructor(private readonly store: ResponseCacheStore, private readonly settings: ResponseCacheSettings, private readonly log: (msg: string) => void) {}

  /** The cache's part in this job; null when the request is not cached (or Redis failed: served uncached). */
  async lookup(job: Job, body: Uint8Array): Promise<CacheLookup | null> {
    const model = job.plan.model;
    // Most requests are not cached: they must not pay a parse of their body here (the biggest cost
    // of a long Codex history), on top of the one that builds the upstream request.
    if (!cacheAsked(job.plan, job.responseCache)) return null;
    let req: ResponsesRequest;
    try {
      req = parseJsonBytes(body) as ResponsesRequest;
    } catch {
      return null; // not JSON: nothing to cache (runJob answers it with its 400)
    }
    const decision = cacheDecision(job.plan, job.responseCache, req, this.settings.defaultTtlS);
    if (decision === null) return null;
    if (decision === 'bypass') {
      metrics.responseCache.inc({ model, result: 'bypass' });
      return { status: 'bypass' };
    }
    const hash = requestHash(job.accountId ?? 'default', model, req);
    try {
      const stored = await this.store.get(hash);
      const frames = stored && replayFrames(stored, itemIdBase(job.id));
      if (frames) {
        metrics.responseCache.inc({ model, result: 'hit' });
        return { status: 'hit', frames };
      }
    } catch (err) {
      metrics.responseCache.inc({ model, result: 'error' });
      this.log(`response cache lookup for ${job.id} failed (served uncached): ${(err as Error).message}`);
      return null;
    }
    metrics.responseCache.inc({ model, result: 'miss' });
    return { status: 'miss', hash, ttlMs: decision.ttlMs, recorder: new ResponseRecorder(this.settings.maxEntryBytes) };
  }

  /** Stores a miss's response once it completed (not cut short, not failed, not stopped). */
  keep(job: Job, miss: Extract<CacheLookup, { status: 'miss' }>, terminal: Frame | null): void {
    if (terminal?.[0] !== F.Completed || terminal[2] !== null) return;
    const model = job.plan.model;
    if (miss.recorder.overflowed) {
      metrics.responseCache.inc({ model, result: 'too_large' });
      return;
    }
    this.store.put(miss.hash, miss.recorder.entry(itemIdBase(job.id)), miss.ttlMs).then(
      (stored) => metrics.responseCache.inc({ model, result: stored ? 'stored' : 'too_large' }),
      (err: Error) => {
        metrics.responseCache.inc({ model, result: 'error' });
        this.log(`response of ${job.id} not stored in the response cache: ${err.message}`);
      },
    );
  }
}
