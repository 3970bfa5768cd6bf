// One job on `rh.job.<pool>`: everything a stateless worker needs to serve one response.
import type { ResponsesRequest } from '../protocol/types';
import type { RoutePlan } from '../routing/catalog';

export interface Job {
  /** The response id the client sees (`resp_…`); also the last token of `replyTo`. */
  id: string;
  replyTo: string;
  /** The API key's id (never the key): usage is recorded against it. */
  keyId: string;
  request: ResponsesRequest;
  plan: RoutePlan;
  /** Epoch ms after which the worker gives up. */
  deadline: number;
  /** W3C traceparent of the ingress span. */
  traceparent?: string;
}
