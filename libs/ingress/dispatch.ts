// The ingress's side of NATS: publish a job, wait for a worker to accept it (republishing to
// another worker when none does), route frame batches back to their response, notice lost frames
// and dead workers, and cancel a response's upstream call when its client goes away. A body larger
// than one NATS message stays here and the worker pulls it in chunks (subjects.body).
import { randomUUID } from 'node:crypto';
import type { NatsConnection, Subscription } from 'nats';
import { dispatchFailed, framesLost, framesSilent, noWorkerAvailable, workerLost, type HttpError } from '../protocol/errors';
import { metrics } from '../telemetry/metrics';
import { decode, decodeBatch, decodeBatches, encode, F, failedFrame, isTerminal, type Frame, type FrameBatch } from '../wire/frames';
import type { Job } from '../wire/job';
import { guarded, maxPayload as natsMaxPayload } from '../wire/connect';
import { requestIdOf, subjects } from '../wire/subjects';

export interface DispatchOptions {
  pool: string;
  /** How long a worker has to accept a job before it is republished. */
  acceptTimeoutMs: number;
  /** Publishes of one job before the response fails with "no worker". */
  maxDispatches: number;
  /** A worker not heard from for this long is dead, and its responses fail. */
  workerDeadMs: number;
  /**
   * A response whose (live) worker sent nothing for this long lost its frames: a worker sends a
   * keep-alive after ROUTERHUB_KEEPALIVE_MS of silence, so only a loss (e.g. the ending batch sent
   * while NATS restarted and this ingress was not yet subscribed again) is silent longer.
   */
  silenceMs: number;
  /** Whether the NATS connection is up (natsLink): while it is down, no round trip can come back. */
  connected: () => boolean;
  /** Where a message that cannot be decoded is reported (it is dropped). */
  log?: (line: string) => void;
}

/** What a response's owner (the HTTP side) hears. Exactly one of onFrames-with-terminal or onFailure ends it. */
export interface ResponseListener {
  onFrames(frames: Frame[]): void;
  /** The response cannot go on (no worker, lost frames, dead worker); its status and Retry-After for a not-yet-started response. */
  onFailure(error: HttpError): void;
}

interface Inflight {
  /** The encoded job, kept for republishing until a worker accepts it. */
  job: Uint8Array | null;
  /** A body too large to ride in the job, held until the accepting worker has pulled every chunk. */
  body: Uint8Array | null;
  chunkBytes: number;
  /** Chunks of `body` served to the accepting worker. */
  served: number;
  listener: ResponseListener;
  worker: string | null;
  /** When the last frame batch of this response arrived. */
  heardAt: number;
  /** Frames were lost: the error the client gets, once the worker's ending (with the usage it billed) arrives or the wait is over. */
  lost: { error: HttpError; at: number } | null;
  nextSeq: number;
  dispatches: number;
  timer: NodeJS.Timeout | null;
  cancelled: boolean;
}

// Room in a job message for everything but the body (the route plan, ids, trace context).
const JOB_ENVELOPE_BYTES = 64 * 1024;
// Room in a chunk reply for NATS's own framing.
const CHUNK_HEADROOM_BYTES = 4 * 1024;

export class Dispatcher {
  readonly ingressId = `i${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  private readonly inflight = new Map<string, Inflight>();
  private readonly workersSeen = new Map<string, number>();
  private readonly subs: Subscription[] = [];
  private sweep: NodeJS.Timeout | null = null;
  private lastSweep = Date.now();
  /** A sweep waits for its NATS round trip (afterReads). */
  private probing = false;
  /** Callers waiting for the next NATS round trip (afterReads), and whether one is on its way. */
  private readers: Array<() => void> = [];
  private roundTrip = false;
  private waiting = 0;

  constructor(private readonly nc: NatsConnection, private readonly opts: DispatchOptions) {}

  start(): void {
    const log = this.opts.log;
    this.subs.push(this.nc.subscribe(subjects.outFor(this.ingressId), { callback: guarded('out', (msg) => this.onBatch(requestIdOf(msg.subject), decodeBatch(msg.data)), log) }));
    this.subs.push(this.nc.subscribe(subjects.batches(this.ingressId), {
      callback: guarded('batches', (msg) => {
        for (const batch of decodeBatches(msg.data)) if (batch.requestId !== undefined) this.onBatch(batch.requestId, batch);
      }, log),
    }));
    this.subs.push(this.nc.subscribe(subjects.body(this.ingressId), { callback: guarded('body', (msg) => this.serveChunk(msg.data, (d) => msg.respond(d)), log) }));
    this.subs.push(this.nc.subscribe(subjects.heartbeat, {
      callback: guarded('heartbeat', (msg) => {
        const worker = decode<unknown>(msg.data);
        if (typeof worker !== 'string') throw new Error('not a worker id');
        this.workersSeen.set(worker, Date.now());
      }, log),
    }));
    const every = Math.max(250, Math.floor(this.opts.workerDeadMs / 4));
    this.sweep = setInterval(() => {
      // A sweep that runs late means this event loop was busy: heartbeats may sit unread in the
      // socket, so this round's view of the workers is stale. Judge them next round.
      const now = Date.now();
      const late = now - this.lastSweep > 2 * every;
      this.lastSweep = now;
      if (late || this.probing) return;
      // Judged against `now` once everything sent before it has been read, a worker is silent by its
      // own doing, never by this ingress's backlog.
      this.probing = true;
      this.afterReads(() => {
        this.probing = false;
        this.reapDeadWorkers(now);
      });
    }, every);
  }

  stop(): void {
    if (this.sweep) clearInterval(this.sweep);
    for (const s of this.subs) s.unsubscribe();
  }

  /** Workers heard from within the dead-worker window. */
  liveWorkers(now = Date.now()): number {
    let n = 0;
    for (const seen of this.workersSeen.values()) if (now - seen < this.opts.workerDeadMs) n++;
    return n;
  }

  get size(): number {
    return this.inflight.size;
  }

  /** Bytes of the jobs no worker has accepted yet: what the ingress holds for requests that wait. */
  get waitingBytes(): number {
    return this.waiting;
  }

  /** Where a worker sends the frames of response `requestId`: alone, or with other responses' (the job's fields). */
  replyTo(requestId: string): Pick<Job, 'replyTo' | 'batchesTo'> {
    return { replyTo: subjects.out(this.ingressId, requestId), batchesTo: subjects.batches(this.ingressId) };
  }

  /**
   * Sends the job to the pool. Never throws: a job that cannot be published fails its response
   * through the listener, and everything it held is released.
   */
  dispatch(job: Job & { body: Uint8Array }, listener: ResponseListener): void {
    const maxPayload = natsMaxPayload(this.nc);
    const entry: Inflight = { job: null, body: null, chunkBytes: 0, served: 0, listener, worker: null, heardAt: 0, lost: null, nextSeq: 0, dispatches: 0, timer: null, cancelled: false };
    const stamped = { ...job, ...this.stamp(1) };
    // The common body (tens of KB) rides in the job: one message, as before. A larger one is pulled.
    let encoded = job.body.byteLength + JOB_ENVELOPE_BYTES <= maxPayload ? encode(stamped) : null;
    if (!encoded || encoded.byteLength > maxPayload) {
      entry.body = job.body;
      entry.chunkBytes = Math.max(CHUNK_HEADROOM_BYTES, maxPayload - CHUNK_HEADROOM_BYTES);
      encoded = encode({ ...stamped, body: undefined, pull: { subject: subjects.body(this.ingressId), bytes: job.body.byteLength, chunkBytes: entry.chunkBytes } });
      this.waiting += entry.body.byteLength;
    }
    entry.job = encoded;
    this.waiting += encoded.byteLength;
    metrics.waitingBytes.set(this.waiting);
    this.inflight.set(job.id, entry);
    this.publishJob(job.id, entry);
  }

  /** The client went away: stop the upstream call and forget the response. */
  cancel(requestId: string): void {
    const entry = this.inflight.get(requestId);
    if (!entry) return;
    entry.cancelled = true;
    if (entry.worker) this.cancelOn(entry.worker, requestId);
    this.finish(requestId, entry);
  }

  private publishJob(requestId: string, entry: Inflight): void {
    entry.dispatches++;
    if (entry.dispatches > 1) {
      // A new copy, with its own time and what is left of the wait (a rare path: decoding is fine).
      const job = encode({ ...decode<Job>(entry.job!), ...this.stamp(entry.dispatches) });
      this.waiting += job.byteLength - entry.job!.byteLength;
      entry.job = job;
    }
    try {
      this.nc.publish(subjects.job(this.opts.pool), entry.job!);
    } catch (err) {
      return this.fail(requestId, entry, dispatchFailed((err as Error).message));
    }
    entry.timer = setTimeout(() => {
      entry.timer = null;
      // The accept may be in what NATS holds for this ingress, unread: a busy event loop runs its
      // timers before it reads its sockets. Judge once it has been read.
      this.afterReads(() => {
        if (entry.worker || !this.inflight.has(requestId)) return;
        if (entry.dispatches < this.opts.maxDispatches) return this.publishJob(requestId, entry);
        this.fail(requestId, entry, noWorkerAvailable(entry.dispatches * this.opts.acceptTimeoutMs));
      });
    }, this.opts.acceptTimeoutMs);
  }

  /**
   * Runs `then` once this ingress has read everything NATS held for it when `then` was queued. What
   * workers send may wait in NATS for an overloaded ingress to read it (one was seen 12 s behind);
   * the server answers a PING after everything it holds for the connection, so once the PONG is in,
   * the rest is read. Callers queued meanwhile share the next round trip. While NATS is down nothing
   * comes back: the clock decides, at once. A server that stops answering (paused, not gone) is
   * dropped by nats.js's own pings (2 × 10 s, wire/connect.ts), which fails the round trip: the
   * clock decides then too.
   */
  private afterReads(then: () => void): void {
    if (!this.opts.connected()) return then();
    this.readers.push(then);
    if (!this.roundTrip) this.startRoundTrip();
  }

  private startRoundTrip(): void {
    const waiting = this.readers;
    this.readers = [];
    const done = () => {
      this.roundTrip = false;
      for (const then of waiting) then();
      if (this.readers.length > 0) this.startRoundTrip();
    };
    this.roundTrip = true;
    this.nc.flush().then(done, done);
  }

  /** When copy `dispatch` of a job leaves, and how long this ingress takes an accept for it after that. */
  private stamp(dispatch: number): Pick<Job, 'sentAt' | 'acceptWithinMs'> {
    return { sentAt: Date.now(), acceptWithinMs: (this.opts.maxDispatches - dispatch + 1) * this.opts.acceptTimeoutMs };
  }

  /** A worker asks for chunk `index` of a pulled body; an empty answer means it is gone. */
  private serveChunk(data: Uint8Array, respond: (d: Uint8Array) => boolean): void {
    let requestId: string, index: number, workerId: string;
    try {
      [requestId, index, workerId] = decode<[string, number, string]>(data);
    } catch {
      return void respond(new Uint8Array(0));
    }
    const entry = this.inflight.get(requestId);
    const body = entry?.body;
    if (!entry || !body || !(index >= 0 && index * entry.chunkBytes < body.byteLength)) return void respond(new Uint8Array(0));
    respond(body.subarray(index * entry.chunkBytes, Math.min(body.byteLength, (index + 1) * entry.chunkBytes)));
    // Only the worker that serves the response counts: a second taker of a republished job may pull too.
    if (workerId === entry.worker && ++entry.served === Math.ceil(body.byteLength / entry.chunkBytes)) this.releaseBody(entry);
  }

  private onBatch(requestId: string, batch: FrameBatch): void {
    const now = Date.now();
    this.workersSeen.set(batch.workerId, now);
    const entry = this.inflight.get(requestId);
    if (!entry) {
      // A response we no longer serve (client gone, or a second worker took a republished job).
      if (batch.frames.some((f) => !isTerminal(f))) this.cancelOn(batch.workerId, requestId);
      return;
    }
    if (entry.worker === null) {
      entry.worker = batch.workerId;
      this.release(entry);
      if (entry.timer) clearTimeout(entry.timer);
    } else if (entry.worker !== batch.workerId) {
      // A republished job that a second worker took too: the first one serves (and bills) it.
      this.cancelOn(batch.workerId, requestId, 'superseded');
      return;
    }
    entry.heardAt = now;
    if (entry.lost) return this.endLost(requestId, entry, batch.frames);
    if (batch.seq !== entry.nextSeq) {
      // The worker is asked to stop and send its ending, which carries the usage it bills: the
      // client's response.failed says what the response cost, as when nothing was lost.
      entry.lost = { at: now, error: framesLost(entry.nextSeq, batch.seq) };
      this.cancelOn(batch.workerId, requestId, 'lost');
      return this.endLost(requestId, entry, batch.frames);
    }
    entry.nextSeq++;
    const frames = batch.frames;
    const last = frames[frames.length - 1];
    if (last && isTerminal(last)) this.finish(requestId, entry);
    entry.listener.onFrames(frames);
  }

  /** After a loss, only the response's ending counts: the client gets the loss, with the usage the ending carries. */
  private endLost(requestId: string, entry: Inflight, frames: Frame[]): void {
    const last = frames[frames.length - 1];
    if (!last || !isTerminal(last) || !entry.lost) return;
    const usage = last[0] === F.Completed ? last[1] : last[4] ?? null;
    this.finish(requestId, entry);
    entry.listener.onFrames([failedFrame(entry.lost.error, usage)]);
  }

  /**
   * Ends every response this ingress still serves (a stopping ingress past its grace period): each
   * client gets a retryable failure, and each worker is told to stop the upstream call.
   */
  failAll(error: HttpError): number {
    const n = this.inflight.size;
    for (const [requestId, entry] of this.inflight) {
      if (entry.worker) this.cancelOn(entry.worker, requestId);
      this.fail(requestId, entry, error);
    }
    return n;
  }

  /** `now`: a time before which everything the workers sent has been read. */
  private reapDeadWorkers(now: number): void {
    for (const [requestId, entry] of this.inflight) {
      if (!entry.worker) continue;
      if (entry.lost) {
        // The worker's ending did not come (it had finished, or is gone): the loss, without usage.
        if (now - entry.lost.at > this.opts.workerDeadMs) this.fail(requestId, entry, entry.lost.error);
        continue;
      }
      const seen = this.workersSeen.get(entry.worker) ?? 0;
      if (now - seen > this.opts.workerDeadMs) {
        this.fail(requestId, entry, workerLost(entry.worker));
      } else if (now - entry.heardAt > this.opts.silenceMs) {
        // Its ending was lost, most likely: the worker sends it again (it keeps recent endings), or
        // the response fails without it once the wait is over.
        entry.lost = { at: now, error: framesSilent(now - entry.heardAt) };
        this.cancelOn(entry.worker, requestId, 'lost');
      }
    }
    for (const [id, seen] of this.workersSeen) if (now - seen > 10 * this.opts.workerDeadMs) this.workersSeen.delete(id);
  }

  private fail(requestId: string, entry: Inflight, error: HttpError): void {
    this.finish(requestId, entry);
    if (!entry.cancelled) entry.listener.onFailure(error);
  }

  private finish(requestId: string, entry: Inflight): void {
    if (entry.timer) clearTimeout(entry.timer);
    this.release(entry);
    this.releaseBody(entry);
    this.inflight.delete(requestId);
  }

  private releaseBody(entry: Inflight): void {
    if (!entry.body) return;
    this.waiting -= entry.body.byteLength;
    metrics.waitingBytes.set(this.waiting);
    entry.body = null;
  }

  /** A worker took the job, or the response ended: the job's bytes are no longer needed. */
  private release(entry: Inflight): void {
    if (!entry.job) return;
    this.waiting -= entry.job.byteLength;
    metrics.waitingBytes.set(this.waiting);
    entry.job = null;
  }

  private cancelOn(workerId: string, requestId: string, why: 'superseded' | 'lost' | null = null): void {
    this.nc.publish(subjects.cancel(workerId), new TextEncoder().encode(why ? `${requestId} ${why}` : requestId));
  }
}

