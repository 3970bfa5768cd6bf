// One job on `rh.job.<pool>`: everything a stateless worker needs to serve one response.
import type { RoutePlan } from '../routing/catalog';

export interface Job {
  /** The response id the client sees (`resp_…`); also the last token of `replyTo`. */
  id: string;
  replyTo: string;
  /** The API key's id (never the key): usage is recorded against it. */
  keyId: string;
  /** The key's account: usage and spend are also counted against it. */
  accountId?: string;
  /** The client's User-Agent (e.g. `codex_exec/0.169.0`), for the request log. */
  userAgent?: string;
  /**
   * The client's request as it sent it (JSON, validated by the ingress). Bytes, not objects: they
   * cost nothing to encode, and a worker holds the parsed request only while it builds an upstream
   * request, not for the life of the stream.
   */
  body: Uint8Array;
  plan: RoutePlan;
  /** Epoch ms after which the worker gives up. */
  deadline: number;
  /** W3C traceparent of the ingress span. */
  traceparent?: string;
}
