// One job on `rh.job.<pool>`: everything a stateless worker needs to serve one response.
import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../protocol/bounds';
import type { RoutePlan } from '../routing/catalog';

/** What a client's `x-routerhub-cache` header may ask of the response cache. */
export const CACHE_MODES = ['on', 'off', 'include-tool-outputs'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];

export interface Job {
  /** The response id the client sees (`resp_…`); also the last token of `replyTo`. */
  id: string;
  replyTo: string;
  /**
   * Where this ingress takes the frame batches of many responses in one message (encodeBatches): a
   * worker with thousands of slow streams sends one message per ingress and event-loop turn instead
   * of one per response. Absent (an ingress of an older build): each batch goes to `replyTo`.
   */
  batchesTo?: string;
  /** The API key's id (never the key): usage is recorded against it. */
  keyId: string;
  /** The key's account: usage and spend are also counted against it. */
  accountId?: string;
  /** The client's User-Agent (e.g. `codex_exec/0.169.0`), for the request log. */
  userAgent?: string;
  /**
   * The client's request as it sent it (JSON: the ingress validated all but `input`, which the
   * worker parses and validates against `limits` before it translates anything). Bytes, not objects: they
   * cost nothing to encode, and a worker holds the parsed request only while it builds an upstream
   * request, not for the life of the stream. Absent when the body does not fit in one NATS message:
   * then `pull` says where the worker fetches it.
   */
  body?: Uint8Array;
  pull?: BodyPull;
  /**
   * The ingress's bounds on a request (its ROUTERHUB_MAX_* settings), so that the input is held to
   * the same ones wherever it is checked. Absent (an ingress of an older build, which checked the
   * input itself): the defaults.
   */
  limits?: InputLimits;
  plan: RoutePlan;
  /** The client's `x-routerhub-cache` header: on, off, include-tool-outputs (absent: the catalog decides). */
  responseCache?: CacheMode;
  /** Epoch ms after which the worker gives up. */
  deadline: number;
  /** Epoch ms (the ingress's clock) when this copy was published: a republished job is a new copy. */
  sentAt?: number;
  /**
   * How long after `sentAt` the ingress still takes an accept; later, it has answered 503 and a
   * worker that takes the copy would call a provider for nobody (JobLateness).
   */
  acceptWithinMs?: number;
  /** W3C traceparent of the ingress span. */
  traceparent?: string;
}

/**
 * A body larger than NATS's max_payload stays at the ingress; the worker asks for it in chunks of
 * `chunkBytes` (under the ingress's max_payload) with requests [job id, chunk index] on `subject`.
 */
export interface BodyPull { subject: string; bytes: number; chunkBytes: number }

/**
 * Whether a decoded job message has what a worker reads of it before any failure can reach the
 * ingress (where to reply, whose key, the plan, the body): anything else on the job subject is dropped.
 */
export function isJob(value: unknown): value is Job {
  if (typeof value !== 'object' || value === null) return false;
  const j = value as Partial<Job>;
  const plan = j.plan as Partial<RoutePlan> | undefined;
  return typeof j.id === 'string' && typeof j.replyTo === 'string' && (j.batchesTo === undefined || typeof j.batchesTo === 'string')
    && typeof j.keyId === 'string' && typeof j.deadline === 'number'
    && typeof plan === 'object' && plan !== null && typeof plan.model === 'string' && Array.isArray(plan.deployments)
    && (j.body instanceof Uint8Array || (typeof j.pull === 'object' && j.pull !== null))
    && (j.limits === undefined || isLimits(j.limits));
}

function isLimits(value: unknown): value is InputLimits {
  return typeof value === 'object' && value !== null && Object.keys(DEFAULT_INPUT_LIMITS).every((k) => Number.isInteger((value as Record<string, unknown>)[k]));
}

/**
 * The job with strings of its own. msgpackr's native decoder returns a message's short strings as
 * slices of one string that holds them all, so each one a stream keeps (its ids, its deployment's
 * URL) would keep all of them alive for as long as the stream (~1 KiB per held stream in a worker's
 * heap). Copied through JSON, all but the body (bytes, and not kept once output has started).
 */
export function withOwnStrings(job: Job): Job {
  const { body, ...rest } = job;
  const copy = JSON.parse(JSON.stringify(rest)) as Job;
  if (body !== undefined) copy.body = body;
  return copy;
}
