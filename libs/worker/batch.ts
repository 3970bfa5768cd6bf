// Frames of one response on their way to the ingress. Frames pile up while one upstream network
// chunk is processed and go out as one NATS message when it is done, with consecutive deltas of the
// same item merged; a fast stream's next chunks within COALESCE_MS join them (`flushSoon`). Fewer
// messages per token, with no wait for a stream's first frames or its end.
import { encodeBatch, F, type Frame } from '../wire/frames';
import type { FrameSink } from '../providers/output';

/** A fast stream's frames wait at most this long for the next upstream chunk (the first ones never wait). */
const COALESCE_MS = 2;

export class FrameBatcher implements FrameSink {
  private pending: Frame[] = [];
  private seq = 0;
  private lastFlush = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Epoch ms of the last message sent, for keep-alives. */
  lastSent = Date.now();

  constructor(
    private readonly publish: (data: Uint8Array) => void,
    private readonly workerId: string,
    private readonly coalesceMs = COALESCE_MS,
  ) {}

  push(frame: Frame): void {
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
    this.publish(encodeBatch({ seq: this.seq++, workerId: this.workerId, frames }));
  }

  /** Push and send at once (accepted, keep-alive, terminal). */
  send(frame: Frame): void {
    this.push(frame);
    this.flush();
  }
}

/** Text, arguments and custom-input deltas of the same item concatenate; reasoning deltas carry a summary index. */
function mergeable(a: Frame, b: Frame): boolean {
  return a[0] === b[0] && a[1] === b[1] && (a[0] === F.TextDelta || a[0] === F.ArgsDelta || a[0] === F.CustomInputDelta);
}
