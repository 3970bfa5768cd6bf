// The frame model: what workers send back to the ingress for one response. It mirrors the Responses
// output-item model so that the ingress serializer is a pure function from frames to SSE text
// (libs/protocol/sse.ts). Frames are tuples, not objects: they are built and encoded per token.
import { Packr } from 'msgpackr';
import type { HttpError } from '../protocol/errors';
import type { ApiError, OutputItem, PassThroughEvent, Usage } from '../protocol/types';

export const F = {
  /** A worker took the job. */
  Accepted: 0,
  /** An upstream accepted the request (HTTP 200); the ingress may now commit to a 200 SSE stream. */
  Started: 1,
  ItemAdded: 2,
  TextDelta: 3,
  ReasoningDelta: 4,
  ArgsDelta: 5,
  CustomInputDelta: 6,
  ItemDone: 7,
  Completed: 8,
  Failed: 9,
  /** The upstream is silent (thinking); the ingress may send a keep-alive event. */
  Keepalive: 10,
  /**
   * The upstream's own settings for the Response object (an openai-responses upstream's
   * temperature, service_tier, …), which replace the request's: sent at most twice per response.
   */
  ResponseFields: 11,
  /**
   * An upstream event about an output item RouterHub does not model (a hosted tool's
   * `web_search_call`, `image_generation_call`, `mcp_call`…), for the client as the upstream sent
   * it but for `sequence_number` and `output_index`, which are RouterHub's. Its
   * `response.output_item.done` carries the item that the Response object's `output` holds.
   */
  PassThrough: 12,
  /** The response cache's verdict (hit, miss, bypass), sent before Started: the ingress puts it in a header. */
  CacheStatus: 13,
} as const;

export type Frame =
  | [typeof F.Accepted, workerId: string]
  | [typeof F.Started]
  | [typeof F.ItemAdded, outputIndex: number, item: OutputItem]
  | [typeof F.TextDelta, outputIndex: number, delta: string]
  | [typeof F.ReasoningDelta, outputIndex: number, summaryIndex: number, delta: string]
  | [typeof F.ArgsDelta, outputIndex: number, delta: string]
  | [typeof F.CustomInputDelta, outputIndex: number, delta: string]
  | [typeof F.ItemDone, outputIndex: number, item: OutputItem]
  | [typeof F.Completed, usage: Usage | null, incompleteReason: string | null]
  /** `usage`: what a response that reached its provider is billed (estimated when the provider sent none). */
  | [typeof F.Failed, error: ApiError, httpStatus: number, retryAfterSeconds: number | null, usage?: Usage | null]
  | [typeof F.Keepalive]
  | [typeof F.ResponseFields, fields: Record<string, unknown>]
  | [typeof F.PassThrough, outputIndex: number, event: PassThroughEvent]
  | [typeof F.CacheStatus, status: CacheStatus];

/** The response cache's verdict, in the client's `x-routerhub-cache` answer header. */
export type CacheStatus = 'hit' | 'miss' | 'bypass';

export type TerminalFrame = Extract<Frame, [typeof F.Completed | typeof F.Failed, ...unknown[]]>;

export function isTerminal(frame: Frame): frame is TerminalFrame {
  return frame[0] === F.Completed || frame[0] === F.Failed;
}

/** The terminal frame of a response that ends with one of the catalogue's errors (libs/protocol/errors.ts). */
export function failedFrame(error: HttpError, usage?: Usage | null): Frame {
  const { body, status, retryAfterSeconds } = error;
  return usage === undefined ? [F.Failed, body, status, retryAfterSeconds] : [F.Failed, body, status, retryAfterSeconds, usage];
}

/**
 * One NATS message on a reply subject: a batch of frames from one worker, numbered so that the
 * ingress notices a lost message (core NATS is at-most-once) instead of serving a corrupt answer.
 */
export interface FrameBatch {
  seq: number;
  workerId: string;
  frames: Frame[];
  /** The response's request id, in a batch that travels with other responses' (encodeBatches). */
  requestId?: string;
}

// Objects travel as plain msgpack maps: the ingress and workers may run different builds, so no
// shared record structures.
const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeBatch(b: FrameBatch): Uint8Array {
  return packr.pack(b.requestId === undefined ? [b.seq, b.workerId, b.frames] : [b.seq, b.workerId, b.frames, b.requestId]);
}

export function decodeBatch(data: Uint8Array): FrameBatch {
  return batchOf(packr.unpack(data));
}

function batchOf(value: unknown): FrameBatch {
  const [seq, workerId, frames, requestId] = value as [number, string, Frame[], string?];
  return requestId === undefined ? { seq, workerId, frames } : { seq, workerId, frames, requestId };
}

/**
 * The batches of many responses in one message (`Job.batchesTo`): batches that name their response
 * (`requestId`), as encodeBatch made them, one after another (a msgpack sequence).
 */
export function encodeBatches(batches: Uint8Array[]): Uint8Array {
  return batches.length === 1 ? batches[0] : Buffer.concat(batches);
}

export function decodeBatches(data: Uint8Array): FrameBatch[] {
  return (packr.unpackMultiple(data) as unknown[]).map(batchOf);
}

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decode<T>(data: Uint8Array): T {
  return packr.unpack(data) as T;
}
