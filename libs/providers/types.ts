// The contract every provider family implements. The worker loop (libs/providers/run.ts) is
// provider-blind: it builds the upstream request, streams it with undici, feeds the SSE events to
// the family's StreamMapper, and maps HTTP errors with mapError. One file (or folder) per family.
import type { ApiError, ResponsesRequest } from '../protocol/types';
import type { Deployment } from '../routing/catalog';
import type { OutputBuilder } from './output';

export interface UpstreamRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * The bytes a request was parsed from, and its input items as parsed (before the worker's own
 * edits): a family that forwards the request nearly as sent copies from them instead of serializing.
 */
export interface RequestSource {
  bytes: Buffer;
  input: readonly unknown[] | null;
}

export type SourcedUpstreamRequest = Omit<UpstreamRequest, 'body'> & { body: Buffer };

/** What an upstream failure means for the client, and whether the next deployment should be tried. */
export interface UpstreamFailure {
  error: ApiError;
  /** The HTTP status the client gets when nothing has been streamed yet (429, 400, 502, 503…). */
  httpStatus: number;
  retryAfterSeconds: number | null;
  /** False when the upstream named no Retry-After and `retryAfterSeconds` is RouterHub's default for the client. */
  retryAfterKnown?: boolean;
  /** True when another deployment may succeed (rate limit, overload, 5xx, auth of this deployment). */
  retryable: boolean;
}

export interface StreamMapper {
  /** One SSE event of the upstream stream (`event` is undefined when the upstream sends no event line). */
  onEvent(event: string | undefined, data: string): void;
  /**
   * The upstream closed the stream. A mapper that saw no terminal event leaves `out.terminal` unset
   * and the worker fails the response ("upstream stream ended without a terminal event").
   */
  onEnd(): void;
}

/**
 * One request's explicit prompt cache (Gemini's `cachedContents`): the stable prefix, named by a
 * hash of what it holds, the call that stores it, and the request with or without it.
 */
export interface ContextCachePlan {
  hash: string;
  /** RouterHub's estimate of the prefix's tokens. */
  tokens: number;
  /** How long the provider keeps it. */
  ttlMs: number;
  /** The create call; its JSON answer names the cache. */
  create: UpstreamRequest;
  plain(): UpstreamRequest;
  cached(name: string): UpstreamRequest;
}

export interface ProviderAdapter {
  readonly family: string;
  /**
   * True when the upstream's reasoning state is valid only where it was made (OpenAI's
   * encrypted_content, per organisation): the worker tags it with the deployment (reasoning-state.ts).
   */
  readonly deploymentBoundState?: boolean;
  /** Pure: a Responses request to this family's HTTP request. */
  buildRequest(req: ResponsesRequest, deployment: Deployment, apiKey: string): UpstreamRequest;
  /**
   * Pure, for families that forward the request nearly as sent: what buildRequest sends, its body
   * assembled from the bytes the request was parsed from; null when it cannot be.
   */
  buildRequestFromSource?(req: ResponsesRequest, deployment: Deployment, apiKey: string, source: RequestSource): SourcedUpstreamRequest | null;
  /** Pure, for families with an explicit prompt cache: the plan for a deployment that enables it, else null. */
  planContextCache?(req: ResponsesRequest, deployment: Deployment, apiKey: string): ContextCachePlan | null;
  /** The name of the cache a create call's answer body made, or null. */
  createdCacheName?(body: string): string | null;
  /** Whether an upstream refused a request because of the cache it named (gone, or not combinable). */
  isCacheRefused?(failure: UpstreamFailure): boolean;
  /** One per upstream attempt: holds that stream's state and writes frames through `out`. */
  createStreamMapper(out: OutputBuilder): StreamMapper;
  /**
   * Pure: an upstream HTTP error (status, headers, body text) to what the client sees; `url` is the
   * URL tried with any key removed, for messages that must name it (a 404 for a wrong base_url).
   */
  mapError(status: number, headers: Record<string, string | string[] | undefined>, body: string, url?: string): UpstreamFailure;
}
