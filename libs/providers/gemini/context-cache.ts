// gemini explicit context caching, the pure part: which prefix of a mapped request a deployment's
// `prompt_cache` stores with the `cachedContents` API, the call that creates it, and how a missing
// cache shows in an error. The worker (libs/worker/context-cache.ts) looks the cache up and creates it.
import { createHash } from 'node:crypto';
import type { ResponsesRequest } from '../../protocol/types';
import { DEFAULT_PROMPT_CACHE, type Deployment } from '../../routing/catalog';
import type { ContextCachePlan, UpstreamFailure } from '../types';
import { streamingHeaders, upstreamUrl } from '../upstream-request';
import type { Json } from './schema';
import { CACHED_FIELDS, geminiUpstreamRequest, toGeminiRequest } from './request';

/** RouterHub's estimate of a prefix's tokens: ~4 characters a token, as the request's own estimate. */
const tokensOf = (chars: number) => Math.ceil(chars / 4);

/**
 * How many of `contents` go into the cache: the first count whose prefix reaches the highest of
 * min_tokens, 2×, 4×, … that any prefix reaches (the last content always stays in the request).
 * Earlier contents never change in a Codex conversation, so this count stays the same turn after
 * turn until the history doubles: a conversation creates a handful of caches, each reused by the
 * turns that follow. null: no prefix reaches min_tokens.
 */
export function cacheBoundary(headChars: number, contentChars: number[], minTokens: number): { contents: number; chars: number } | null {
  const prefixChars = [headChars];
  for (const chars of contentChars.slice(0, -1)) prefixChars.push(prefixChars[prefixChars.length - 1] + chars);
  let found: { contents: number; chars: number } | null = null;
  for (let level = minTokens; ; level *= 2) {
    const at = prefixChars.findIndex((chars) => tokensOf(chars) >= level);
    if (at < 0) return found;
    found = { contents: at, chars: prefixChars[at] };
  }
}

/** Where a deployment's caches live and the model name they are made for (Gemini API or Vertex AI). */
export function cachedContentsTarget(deployment: Deployment): { url: string; model: string } {
  const base = new URL(deployment.base_url);
  // Vertex AI: …/v1/projects/P/locations/L/publishers/google → …/v1/projects/P/locations/L/cachedContents.
  const vertex = /^(.*\/v\d+\w*)\/(projects\/[^/]+\/locations\/[^/]+)\/publishers\/google\/?$/.exec(base.pathname);
  if (vertex) {
    base.pathname = `${vertex[1]}/${vertex[2]}/cachedContents`;
    return { url: base.toString(), model: `${vertex[2]}/publishers/google/models/${deployment.model}` };
  }
  return { url: upstreamUrl(deployment, '/cachedContents', 'v1beta'), model: `models/${deployment.model}` };
}

/**
 * The plan for one request on a deployment whose catalog entry sets `prompt_cache.explicit`: null
 * when caching is off or the stable prefix is shorter than the provider's minimum.
 */
export function planContextCache(req: ResponsesRequest, deployment: Deployment, apiKey: string): ContextCachePlan | null {
  const policy = deployment.prompt_cache;
  if (!policy?.explicit) return null;
  const body = toGeminiRequest(req, deployment);
  const head: Json = {};
  for (const field of CACHED_FIELDS) if (body[field] !== undefined) head[field] = body[field];
  const headJson = JSON.stringify(head);
  const contents = body.contents as Json[];
  const contentJson = contents.map((c) => JSON.stringify(c));
  const boundary = cacheBoundary(headJson.length, contentJson.map((c) => c.length), policy.min_tokens ?? DEFAULT_PROMPT_CACHE.min_tokens);
  if (!boundary) return null;
  const target = cachedContentsTarget(deployment);
  const ttlS = policy.ttl_s ?? DEFAULT_PROMPT_CACHE.ttl_s;
  // The cache is named by what it holds, for the model it was made for.
  const hash = createHash('sha256').update(`${target.model}\n${headJson}`);
  for (const c of contentJson.slice(0, boundary.contents)) hash.update('\n').update(c);
  const create: Json = { model: target.model, ...head, ttl: `${ttlS}s` };
  if (boundary.contents > 0) create.contents = contents.slice(0, boundary.contents);
  const headers = { ...streamingHeaders(deployment, apiKey ? { 'x-goog-api-key': apiKey } : null), accept: 'application/json' };
  return {
    hash: hash.digest('hex'),
    tokens: tokensOf(boundary.chars),
    ttlMs: ttlS * 1000,
    create: { url: target.url, headers, body: JSON.stringify(create) },
    plain: () => geminiUpstreamRequest(body, deployment, apiKey),
    cached: (name) => geminiUpstreamRequest(body, deployment, apiKey, { name, contents: boundary.contents }),
  };
}

/** The cache's name in the create call's answer (`cachedContents/…`), or null. */
export function createdCacheName(body: string): string | null {
  try {
    const name = (JSON.parse(body) as { name?: unknown }).name;
    return typeof name === 'string' && name.length > 0 ? name : null;
  } catch {
    return null;
  }
}

/**
 * A refusal because of the cache: one the provider no longer has (expired, deleted: Google's 403
 * "CachedContent not found (or permission denied)"), or a request it will not combine with one.
 * The turn is sent again without it.
 */
export function isCacheRefused(failure: UpstreamFailure): boolean {
  return /cached ?content/i.test(failure.error.message);
}
