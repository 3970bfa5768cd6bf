// Frames of one response on their way to the ingress. Frames pile up while one upstream network
// chunk is processed and go out as one NATS message when it is done, with consecutive deltas of the
// same item merged; a fast stream's next chunks within COALESCE_MS join them (`flushSoon`). Fewer
// messages per token, with no wait for a stream's first frames or its end.
import { encodeBatch, F, type Frame } from '../wire/frames';
import type { FrameSink } from '../providers/output';

/** Encoded batches stay under this (NATS's default max_payload is 1 MB). */
const MAX_BATCH_BYTES = 256 * 1024;

/** A fast stream's frames wait at most this long for the next upstream chunk (the first ones never wait). */
const COALESCE_MS = 2;

export class FrameBatcher implements FrameSink {
  private pending: Frame[] = [];
  private seq = 0;
  private lastFlush = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Epoch ms of the last message sent, for keep-alives. */
  lastSent = Date.now();
  /** The response's terminal frame once sent (for the request log). */
  terminal: Frame | null = null;
  /** Output text deltas, kept only when the operator logs bodies (null: not kept). */
  outputText: string[] | null = null;
  /** Sees each batch as it leaves, for the response cache (null: not cached). */
  recorder: { add(frames: Frame[]): void } | null = null;

  constructor(
    private readonly publish: (data: Uint8Array) => void,
    private readonly workerId: string,
    /** Set when the batches travel with other responses' (Job.batchesTo): they name their response. */
    private readonly requestId?: string,
    private readonly coalesceMs = COALESCE_MS,
  ) {}

  push(frame: Frame): void {
    if (this.outputText !== null && frame[0] === F.TextDelta) this.outputText.push(frame[2]);
    const last = this.pending[this.pending.length - 1];
    if (last && mergeable(last, frame)) {
      (last as [number, number, string])[2] += frame[2] as string;
      return;
    }
    this.pending.push(frame);
  }

  /** Flush now, or, within `coalesceMs` of the last flush, at its end: a fast stream's deltas leave in fewer, larger messages. */
  flushSoon(): void {
    if (this.pending.length === 0 || this.timer) return;
    const wait = this.lastFlush + this.coalesceMs - performance.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pending.length === 0) return;
    this.lastFlush = performance.now();
    const frames = this.pending;
    this.pending = [];
    this.lastSent = Date.now();
    this.recorder?.add(frames);
    this.publishBounded(frames);
  }

  /** NATS refuses messages over its max_payload (1 MB by default): halve a batch, or a delta, until it fits. */
  private publishBounded(frames: Frame[]): void {
    const data = encodeBatch({ seq: this.seq, workerId: this.workerId, frames, requestId: this.requestId });
    if (data.byteLength <= MAX_BATCH_BYTES) {
      this.seq++;
      return this.publish(data);
    }
    if (frames.length > 1) {
      const half = frames.length >> 1;
      this.publishBounded(frames.slice(0, half));
      return this.publishBounded(frames.slice(half));
    }
    const [f] = frames;
    if (isTextLikeDelta(f) && f[2].length > 1) {
      const text = f[2];
      let half = text.length >> 1;
      if (/[\uD800-\uDBFF]/.test(text[half - 1])) half++; // never between the halves of a surrogate pair
      return this.publishBounded([[f[0], f[1], text.slice(0, half)], [f[0], f[1], text.slice(half)]]);
    }
    this.seq++;
    this.publish(data); // one item larger than the bound: the worker's publish reports it
  }

  /** Push and send at once (accepted, keep-alive, terminal). */
  send(frame: Frame): void {
    if (frame[0] === F.Completed || frame[0] === F.Failed) this.terminal ??= frame;
    this.push(frame);
    this.flush();
  }
}

/** Text, arguments and custom-input deltas of the same item concatenate; reasoning deltas carry a summary index. */
function mergeable(a: Frame, b: Frame): boolean {
  return a[0] === b[0] && a[1] === b[1] && isTextLikeDelta(a);
}

function isTextLikeDelta(f: Frame): f is Extract<Frame, [typeof F.TextDelta | typeof F.ArgsDelta | typeof F.CustomInputDelta, number, string]> {
  return f[0] === F.TextDelta || f[0] === F.ArgsDelta || f[0] === F.CustomInputDelta;
}
