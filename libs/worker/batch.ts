// Frames of one response on their way to the ingress. Frames pile up while one upstream network
// chunk is processed and go out as one NATS message when it is done (`flush`), with consecutive
// deltas of the same item merged: fewer messages per token without adding latency.
import { encodeBatch, F, type Frame } from '../wire/frames';
import type { FrameSink } from '../providers/output';

export class FrameBatcher implements FrameSink {
  private pending: Frame[] = [];
  private seq = 0;
  /** Epoch ms of the last message sent, for keep-alives. */
  lastSent = Date.now();

  constructor(
    private readonly publish: (data: Uint8Array) => void,
    private readonly workerId: string,
  ) {}

  push(frame: Frame): void {
    const last = this.pending[this.pending.length - 1];
    if (last && mergeable(last, frame)) {
      (last as [number, number, string])[2] += frame[2] as string;
      return;
    }
    this.pending.push(frame);
  }

  flush(): void {
    if (this.pending.length === 0) return;
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
