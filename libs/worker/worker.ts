// A worker process's life: take jobs from the NATS queue group, acknowledge each at once, run it
// (run.ts), honour cancels, send keep-alives during upstream silences, heartbeat so the ingress
// can tell a dead worker from a slow upstream, and bill every response that reached a provider
// once (metering.ts), however it ended.
import { randomUUID } from 'node:crypto';
import type { Span } from '@opentelemetry/api';
import type { NatsConnection, Subscription } from 'nats';
import { Agent } from 'undici';
import { requestBodyUnavailable, responseEndingLost, responseTimeout, responseUndeliverable, workerCrashed, workerShuttingDown, type HttpError } from '../protocol/errors';
import { deploymentId } from '../routing/catalog';
import { DeploymentHealth } from '../routing/health';
import type { Redis } from '../store/redis';
import { RequestLog, type LogAppend, type RequestRecord } from '../store/requests';
import { ResponseCacheStore } from '../store/response-cache';
import { cacheSavingsMicroUsd, costMicroUsd, UsageLedger, type UsageEntry } from '../store/usage';
import type { Log } from '../telemetry/log';
import { countTokens, metrics } from '../telemetry/metrics';
import { failSpan, genAiProvider, startChildSpan, traceIdOf, usageAttributes, withSpan } from '../telemetry/tracing';
import { guarded, maxPayload } from '../wire/connect';
import { decode, encode, encodeBatch, encodeBatches, F, failedFrame, type CacheStatus, type Frame } from '../wire/frames';
import { isJob, withOwnStrings, type Job } from '../wire/job';
import { ingressOf, subjects, WORKER_QUEUE } from '../wire/subjects';
import { FrameBatcher } from './batch';
import { ContextCaches } from './context-cache';
import { JobLateness } from './job-lateness';
import { meter } from './metering';
import { hitUsage, ResponseCache, type ResponseCacheSettings } from './response-cache';
import { newTrace, runJob, type JobTrace } from './run';

export interface WorkerOptions {
  pool: string;
  /** Streams one worker serves at most; past it the worker takes no jobs until it is below 90%. */
  maxStreams: number;
  /** Event-loop lag (ms) past which the worker takes no new jobs: an overloaded worker sheds load
   *  instead of starving the streams it has (and its own heartbeats). */
  maxLagMs: number;
  heartbeatMs: number;
  /** Send a keep-alive frame when a response has been silent this long. */
  keepaliveMs: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  env: Record<string, string | undefined>;
  log: Log;
  /** The rpm/tpm window the ingresses use (tokens are counted into it). */
  rateWindowMs: number;
  requestLog: { maxEntries: number; maxAgeMs: number };
  /** Keep the client's request body and the output text in the request log (off: no prompt or answer text is stored). */
  logBodies: boolean;
  /** How long a ledger write that Redis refused is retried (the per-response marker makes retries safe). */
  ledgerRetryMs?: number;
  /** How often the local copy of deployment health is re-read from Redis (changes also arrive by pub/sub). */
  healthPollMs?: number;
  /** false: deployment health is neither recorded nor used (every plan is tried in order). */
  deploymentHealth?: boolean;
  responseCache?: ResponseCacheSettings & { maxTotalBytes: number };
}

/** How the ledger and the request log name the response cache when it answered. */
export const RESPONSE_CACHE_DEPLOYMENT = 'response-cache';

interface Running { controller: AbortController; out: FrameBatcher }

/** Where one response's frames go: alone to `replyTo`, or with other responses' to `batchesTo` (an ingress that takes them so). */
type Reply = Pick<Job, 'id' | 'replyTo' | 'batchesTo'>;

/** A batch that travels with other responses' names its response (FrameBatch.requestId). */
function batchedId(to: Reply): string | undefined {
  return to.batchesTo === undefined ? undefined : to.id;
}

/** A frame batch waiting for the end of the event-loop turn. */
interface Outgoing { to: Reply; batch: Uint8Array; onFailure: () => void }

const ACCEPT_FLUSH_MS = 20;
/** How long one chunk of a pulled request body may take to arrive from the ingress. */
const BODY_PULL_TIMEOUT_MS = 10_000;
/** How long a stopping worker waits for ledger writes still being retried. */
const LEDGER_DRAIN_MS = 10_000;
const LAG_PROBE_MS = 100;
/** Room in a message of many responses' batches for NATS's own framing. */
const BATCHES_HEADROOM_BYTES = 4 * 1024;
/** Endings kept for an ingress that lost them: long past its silence bound (keep-alive + dead-worker time). */
const ENDINGS_KEPT_MS = 120_000;
const ENDINGS_KEPT_MAX = 20_000;

// Why a job's upstream call was aborted (AbortSignal.reason); a client's cancel needs no answer.
const CANCEL = 'cancel';
const DEADLINE = 'deadline';
const SHUTDOWN = 'shutdown';
const UNDELIVERABLE = 'undeliverable';
/** Another worker serves this response (its job was republished): that worker bills it. */
const SUPERSEDED = 'superseded';
/** The ingress lost some of this response's frames: it waits for the ending, to tell the client the usage billed. */
const LOST = 'lost';
const EARLY_END: Record<string, HttpError> = { [DEADLINE]: responseTimeout(), [SHUTDOWN]: workerShuttingDown(), [LOST]: responseEndingLost() };

export class Worker {
  readonly id = `w${randomUUID().slice(0, 8)}`;
  private readonly running = new Map<string, Running>();
  private readonly subs: Subscription[] = [];
  /** The queue-group subscription to jobs, while this worker takes jobs. */
  private intake: Subscription | null = null;
  private lagMs = 0;
  private readonly lateness = new JobLateness();
  private stopping = false;
  /** Frame batches of every response, published together once this event-loop turn is done. */
  private outbox: Outgoing[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: null, pipelining: 1 });
  private readonly ledger: UsageLedger;
  private readonly requestLog: RequestLog;
  private readonly health: DeploymentHealth | undefined;
  private readonly contextCaches: ContextCaches;
  /** Ledger writes still being retried; a stopping worker waits for them. */
  private readonly billing = new Set<Promise<void>>();
  private readonly responseCache: ResponseCache | null;
  /**
   * The endings of responses finished lately (oldest first), to send again when the ingress says it
   * lost them: the client learns the usage billed even when NATS dropped the ending.
   */
  private readonly endings = new Map<string, { at: number; to: Reply; terminal: Frame }>();

  constructor(private readonly nc: NatsConnection, redis: Redis, private readonly opts: WorkerOptions) {
    this.ledger = new UsageLedger(redis, opts.rateWindowMs);
    this.requestLog = new RequestLog(redis, opts.requestLog);
    const rc = opts.responseCache;
    this.responseCache = rc ? new ResponseCache(new ResponseCacheStore(redis, rc.maxTotalBytes), rc, opts.log) : null;
    this.contextCaches = new ContextCaches(redis, opts.log);
    this.health = opts.deploymentHealth === false ? undefined : new DeploymentHealth(redis, { pollMs: opts.healthPollMs ?? 2000, probeMs: opts.headersTimeoutMs });
  }

  /** SIGTERM arrived: finishing what it has, taking nothing new. */
  get draining(): boolean {
    return this.stopping;
  }

  start(): void {
    this.openIntake();
    this.subs.push(this.nc.subscribe(subjects.cancel(this.id), { callback: guarded('cancel', (msg) => this.cancel(new TextDecoder().decode(msg.data)), this.opts.log) }));
    const beat = () => this.nc.publish(subjects.heartbeat, encode(this.id));
    beat();
    this.timers.push(setInterval(beat, this.opts.heartbeatMs));
    this.timers.push(setInterval(() => this.keepalives(), Math.min(1000, this.opts.keepaliveMs)));
    let expected = performance.now() + LAG_PROBE_MS;
    this.timers.push(setInterval(() => {
      const now = performance.now();
      this.lagMs = Math.max(0, now - expected);
      expected = now + LAG_PROBE_MS;
      this.adjustIntake();
    }, LAG_PROBE_MS));
  }

  /** Stops taking jobs, lets running ones finish (up to `graceMs`), then cancels the rest. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.closeIntake();
    // The cancel subscription stays while streams finish: a client that goes away meanwhile still stops its upstream call.
    const until = Date.now() + graceMs;
    while (this.running.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    for (const r of this.running.values()) r.controller.abort(SHUTDOWN);
    // The stopped jobs meter and record themselves once their upstream calls have unwound.
    const unwound = Date.now() + 2000;
    while (this.running.size > 0 && Date.now() < unwound) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.subs) s.unsubscribe();
    for (const t of this.timers) clearInterval(t);
    this.health?.stop();
    await this.dispatcher.close();
    await Promise.race([Promise.allSettled([...this.billing]), new Promise((r) => setTimeout(r, LEDGER_DRAIN_MS))]);
  }

  private take(job: Job): void {
    // A job republished while our accept was on its way: we serve it already.
    if (this.running.has(job.id)) return;
    // A copy read too late for its accept to reach the ingress in time (it leaves within the flush
    // delay, or this event loop's lag if longer): the ingress answered 503 already, or will.
    if (job.sentAt !== undefined && job.acceptWithinMs !== undefined && this.lateness.of(ingressOf(job.replyTo), job.sentAt) + Math.max(ACCEPT_FLUSH_MS, this.lagMs) >= job.acceptWithinMs) {
      metrics.lateJobs.inc();
      return;
    }
    const startedAt = performance.now();
    const trace = newTrace();
    const controller = new AbortController();
    const to: Reply = { id: job.id, replyTo: job.replyTo, batchesTo: job.batchesTo };
    let undeliverable = false;
    const out: FrameBatcher = new FrameBatcher((data) => this.post(to, data, () => {
      // Frames NATS refused: stop the upstream call, and end the response (the ingress sees the gap
      // in the numbering, or this), whether or not the job is still running. Once: when NATS
      // refuses that ending too, nothing of this response can reach the ingress.
      if (undeliverable) return;
      undeliverable = true;
      controller.abort(UNDELIVERABLE);
      out.send(failedFrame(responseUndeliverable()));
    }), this.id, batchedId(to));
    if (this.opts.logBodies) out.outputText = [];
    // The accept rides with the upstream's first frames when they come quickly (one NATS message and
    // one ingress wake-up instead of three); the timer bounds its delay far below the accept timeout.
    out.push([F.Accepted, this.id]);
    // A body to pull: accept at once, so that the ingress knows whose chunk requests count.
    if (job.pull) out.flush();
    else setTimeout(() => out.flush(), ACCEPT_FLUSH_MS);
    const deadline = setTimeout(() => controller.abort(DEADLINE), Math.max(0, job.deadline - Date.now()));
    this.running.set(job.id, { controller, out });
    metrics.workerJobs.set(this.running.size);
    this.adjustIntake();
    const span = startChildSpan(`chat ${job.plan.model}`, job.traceparent, { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': job.plan.model, 'gen_ai.response.id': job.id });
    let requestBody: string | undefined;
    let cacheStatus: CacheStatus | null = null;
    this.bodyOf(job)
      .then(
        (body) => {
          job.body = body;
          requestBody = this.opts.logBodies ? body.toString('utf8') : undefined;
          // Under the job's span, the upstream calls (undici instrumentation) join the response's trace.
          return withSpan(span, () => this.serve(job as Job & { body: Uint8Array }, out, controller.signal, trace))
            .then((status) => {
              cacheStatus = status;
              // Stopped (client gone, deadline, shutdown): the provider worked on it all the same.
              if (controller.signal.aborted && trace.served && !trace.billed) trace.billed = meter(trace.served, true);
              // Stopped by the worker itself, not by the client: the client still needs a terminal event.
              const early = EARLY_END[controller.signal.reason as string];
              if (controller.signal.aborted && early) out.send(failedFrame(early, trace.billed?.usage ?? null));
            }, (err: Error) => {
              // A bug, not an upstream failure: the client still gets a terminal event, and the bill.
              this.opts.log(`job ${job.id} crashed: ${err.stack ?? err.message}`);
              if (trace.served && !trace.billed) trace.billed = meter(trace.served, true);
              if (!controller.signal.aborted) out.send(failedFrame(workerCrashed(err.message), trace.billed?.usage ?? null));
            })
            .then(() => this.record(job, out, trace, startedAt, requestBody, controller.signal.reason === SUPERSEDED, span, cacheStatus));
        },
        (err: Error) => {
          // Nothing reached a provider: no usage, only the client's terminal event.
          this.opts.log(`body of ${job.id} not fetched: ${err.message}`);
          if (!controller.signal.aborted) out.send(failedFrame(requestBodyUnavailable()));
        },
      )
      .catch((err: Error) => {
        // A bug in the recording itself: the response has its terminal event already.
        this.opts.log(`job ${job.id}: recording failed: ${err.stack ?? err.message}`);
      })
      .finally(() => {
        clearTimeout(deadline);
        span.end();
        this.remember(job, out.terminal);
        this.running.delete(job.id);
        metrics.workerJobs.set(this.running.size);
        this.adjustIntake();
      });
  }

  /**
   * Answers from the response cache when the request is cached and stored (the frames the first
   * client got, zero usage), else runs the job, recording a cached request's frames to store them
   * once it completed. Resolves with the cache's verdict (null: the request is not cached).
   */
  private async serve(job: Job & { body: Uint8Array }, out: FrameBatcher, signal: AbortSignal, trace: JobTrace): Promise<CacheStatus | null> {
    const cached = this.responseCache ? await this.responseCache.lookup(job, job.body) : null;
    if (signal.aborted) return cached?.status ?? null;
    if (cached) out.push([F.CacheStatus, cached.status]);
    if (cached?.status === 'hit') {
      out.push([F.Started]);
      for (const frame of cached.frames) out.push(frame);
      const usage = hitUsage();
      trace.billed = { usage, estimated: false };
      out.send([F.Completed, usage, null]);
      return 'hit';
    }
    if (cached?.status === 'miss') out.recorder = cached.recorder;
    await runJob({ job, out, signal, dispatcher: this.dispatcher, env: this.opts.env, headersTimeoutMs: this.opts.headersTimeoutMs, idleTimeoutMs: this.opts.idleTimeoutMs, trace, health: this.health, workerId: this.id, contextCaches: this.contextCaches });
    if (cached?.status === 'miss' && !signal.aborted) this.responseCache!.keep(job, cached, out.terminal);
    return cached?.status ?? null;
  }

  /**
   * The job's body: in the job itself, or pulled from the ingress in chunks (all requested at once;
   * each reply is under max_payload). Decoded bytes are a view into the NATS read buffer, which
   * holds other messages too: keep a copy.
   */
  private async bodyOf(job: Job): Promise<Buffer> {
    if (job.body) return Buffer.from(job.body);
    const pull = job.pull;
    if (!pull) throw new Error('the job has neither a body nor a place to pull it from');
    const count = Math.ceil(pull.bytes / pull.chunkBytes);
    const body = Buffer.allocUnsafe(pull.bytes);
    // After the accept left (it was flushed to the outbox, published on the next check phase).
    await new Promise((r) => setImmediate(r));
    await Promise.all(Array.from({ length: count }, async (_, i) => {
      const reply = await this.nc.request(pull.subject, encode([job.id, i, this.id]), { timeout: BODY_PULL_TIMEOUT_MS });
      const expected = Math.min(pull.chunkBytes, pull.bytes - i * pull.chunkBytes);
      if (reply.data.byteLength !== expected) throw new Error(`chunk ${i} has ${reply.data.byteLength} bytes, expected ${expected} (the ingress no longer holds the body)`);
      body.set(reply.data, i * pull.chunkBytes);
    }));
    return body;
  }

  /**
   * The ledger line (every response that reached a provider, `trace.billed`) and the request-log
   * record (every response) of one job, in one Redis round trip when billed. A duplicate
   * (`superseded`: the job was republished and another worker serves it) is billed by that worker;
   * the per-response marker would drop it anyway, but it must not win the race against the line of
   * the response the client saw.
   */
  private record(job: Job, out: FrameBatcher, trace: JobTrace, startedAt: number, requestBody: string | undefined, superseded: boolean, span: Span, cache: CacheStatus | null): void {
    const accountId = job.accountId ?? 'default';
    // A hit is a ledger line with zero tokens under this deployment name: the usage API counts them.
    const deployment = cache === 'hit' ? RESPONSE_CACHE_DEPLOYMENT : trace.deployment ? deploymentId(trace.deployment) : null;
    const billed = superseded ? null : trace.billed;
    const usage = billed?.usage ?? null;
    const pricing = trace.deployment?.pricing ?? job.plan.pricing;
    const cost = usage ? costMicroUsd(usage, pricing) : 0;
    const t = out.terminal;
    const status: RequestRecord['status'] = t === null ? 'cancelled' : t[0] === F.Failed ? 'failed' : t[0] === F.Completed && t[2] ? 'incomplete' : 'completed';
    const record: Omit<RequestRecord, 'id'> = {
      time: new Date(Date.now() - (performance.now() - startedAt)).toISOString(),
      response_id: job.id,
      account_id: accountId,
      key_id: job.keyId,
      user_agent: job.userAgent ?? null,
      endpoint: '/v1/responses',
      model: job.plan.model,
      deployment,
      attempts: trace.attempts,
      status,
      error_code: t !== null && t[0] === F.Failed ? t[1].code : status === 'cancelled' ? 'client_cancelled' : null,
      input_tokens: usage?.input_tokens ?? 0,
      cached_tokens: usage?.input_tokens_details.cached_tokens ?? 0,
      cache_write_tokens: usage?.input_tokens_details.cache_write_tokens ?? 0,
      output_tokens: usage?.output_tokens ?? 0,
      reasoning_tokens: usage?.output_tokens_details.reasoning_tokens ?? 0,
      usage_estimated: billed?.estimated ?? false,
      cost: cost / 1e6,
      time_to_first_token_ms: trace.firstOutputAt === null ? null : Math.round(trace.firstOutputAt - startedAt),
      duration_ms: Math.round(performance.now() - startedAt),
      ...(cache ? { cache } : {}),
      ...(requestBody !== undefined ? { request_body: requestBody, output_text: out.outputText?.join('') ?? '' } : {}),
    };
    if (billed) {
      metrics.usageRecords.inc({ basis: billed.estimated ? 'estimated' : 'provider' });
      countTokens(job.plan.model, deployment ?? 'none', billed.usage);
      const entry = { responseId: job.id, keyId: job.keyId, accountId, model: job.plan.model, deployment: deployment ?? 'none', usage: billed.usage, costMicroUsd: cost, cacheSavingsMicroUsd: cacheSavingsMicroUsd(billed.usage, pricing), estimated: billed.estimated };
      this.bill(entry, this.requestLog.entry(record));
    } else {
      this.requestLog.append(record).catch((err: Error) => this.opts.log(`request log of ${job.id} not written: ${err.message}`));
    }
    this.observe(record, trace, span, superseded);
  }

  /** The response's span attributes (GenAI conventions) and its one log line: ids, counts, codes; never a key or text. */
  private observe(record: Omit<RequestRecord, 'id'>, trace: JobTrace, span: Span, superseded: boolean): void {
    // Without an exporter the span records nothing: skip building what it would drop.
    if (span.isRecording()) {
      const served = trace.deployment;
      if (served) {
        span.setAttributes({ 'gen_ai.provider.name': genAiProvider(served.provider), 'gen_ai.response.model': served.model, 'routerhub.deployment': record.deployment ?? '' });
      }
      if (trace.billed) span.setAttributes({ ...usageAttributes(trace.billed.usage), 'routerhub.usage_estimated': trace.billed.estimated });
      span.setAttribute('routerhub.status', record.status);
      if (record.status === 'failed') failSpan(span, record.error_code ?? 'failed', `the response failed (${record.error_code ?? 'unknown'})`);
    }
    if (superseded) return; // the worker that serves it logs it
    // The record's `time` (when the response started) as `started_at`: pino's own `time` is the line's.
    const { request_body: _body, output_text: _text, attempts, time, ...fields } = record;
    this.opts.log.info({ started_at: time, ...fields, attempts: attempts.length, trace_id: traceIdOf(span) }, 'response');
  }

  /**
   * Writes one ledger line and the response's request-log record in one script, retrying while
   * Redis refuses (restarting, paused past its command timeout): a retry of a write that did land
   * is dropped by the per-response marker.
   */
  private bill(entry: UsageEntry, log: LogAppend): void {
    const until = Date.now() + (this.opts.ledgerRetryMs ?? 120_000);
    // Every retry writes the same day and rate window as the first try, whenever it lands.
    entry.at ??= new Date();
    const write = (async () => {
      for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
        try {
          await this.ledger.record(entry, log);
          return;
        } catch (err) {
          if (Date.now() + delay > until) {
            metrics.usageRecordsLost.inc();
            this.opts.log(`usage and request log of ${entry.responseId} not recorded (${JSON.stringify(entry.usage)}): ${(err as Error).message}`);
            return;
          }
          await new Promise((r) => setTimeout(r, delay));
        }
      }
    })();
    this.billing.add(write);
    void write.finally(() => this.billing.delete(write));
  }

  /**
   * Publishing at the end of the loop turn lets the frames of every stream whose upstream data
   * arrived in this turn leave in one socket write (nats.js flushes once per microtask checkpoint),
   * and in one NATS message per ingress: with thousands of slow streams, a message per response was
   * a sizeable share of the worker's, NATS's and the ingress's CPU per token.
   */
  private post(to: Reply, batch: Uint8Array, onFailure: () => void): void {
    if (this.outbox.length === 0) setImmediate(() => this.drainOutbox());
    this.outbox.push({ to, batch, onFailure });
  }

  private drainOutbox(): void {
    const outgoing = this.outbox;
    this.outbox = [];
    const together = new Map<string, Outgoing[]>();
    for (const o of outgoing) {
      const subject = o.to.batchesTo;
      if (subject === undefined) this.publish(o.to.replyTo, o.batch, [o]);
      else if (together.has(subject)) together.get(subject)!.push(o);
      else together.set(subject, [o]);
    }
    // Each message under max_payload; one response's batches keep their order.
    const limit = maxPayload(this.nc) - BATCHES_HEADROOM_BYTES;
    for (const [subject, list] of together) {
      let part: Outgoing[] = [];
      let bytes = 0;
      for (const o of list) {
        const size = o.batch.byteLength;
        if (part.length > 0 && bytes + size > limit) {
          this.publishTogether(subject, part);
          part = [];
          bytes = 0;
        }
        part.push(o);
        bytes += size;
      }
      this.publishTogether(subject, part);
    }
  }

  private publishTogether(subject: string, part: Outgoing[]): void {
    this.publish(subject, encodeBatches(part.map((o) => o.batch)), part);
  }

  private publish(subject: string, data: Uint8Array, senders: Outgoing[]): void {
    try {
      this.nc.publish(subject, data);
    } catch (err) {
      // e.g. one output item larger than NATS's max_payload: those responses end, the worker goes on.
      this.opts.log(`frames for ${subject} not sent (${data.byteLength} bytes): ${(err as Error).message}`);
      for (const o of senders) o.onFailure();
    }
  }

  /** Take jobs only while there is room and the event loop keeps up (hysteresis avoids flapping). */
  private adjustIntake(): void {
    const busy = this.running.size >= this.opts.maxStreams || this.lagMs > this.opts.maxLagMs;
    const idle = this.running.size < this.opts.maxStreams * 0.9 && this.lagMs <= this.opts.maxLagMs / 2;
    if (this.intake && busy) this.closeIntake();
    else if (!this.intake && idle && !this.stopping) this.openIntake();
  }

  private openIntake(): void {
    this.intake = this.nc.subscribe(subjects.job(this.opts.pool), { queue: WORKER_QUEUE, callback: guarded('job', (msg) => {
        const job = decode<unknown>(msg.data);
        if (!isJob(job)) throw new Error('not a job (no reply subject, key, plan or body)');
        this.take(withOwnStrings(job));
      }, this.opts.log),
    });
  }

  private closeIntake(): void {
    this.intake?.unsubscribe();
    this.intake = null;
  }

  /** `<request id>` (the client went away), `<request id> superseded` (another worker serves it) or `<request id> lost` (frames were lost: end it, with its usage). */
  private cancel(message: string): void {
    const [requestId, why] = message.split(' ');
    const running = this.running.get(requestId);
    if (running) return void running.controller.abort(why === SUPERSEDED || why === LOST ? why : CANCEL);
    const ended = why === LOST ? this.endings.get(requestId) : undefined;
    if (ended) this.post(ended.to, encodeBatch({ seq: -1, workerId: this.id, frames: [ended.terminal], requestId: batchedId(ended.to) }), () => undefined);
  }

  private remember(job: Job, terminal: Frame | null): void {
    if (!terminal) return;
    const now = Date.now();
    this.endings.set(job.id, { at: now, to: { id: job.id, replyTo: job.replyTo, batchesTo: job.batchesTo }, terminal });
    for (const [id, e] of this.endings) {
      if (now - e.at < ENDINGS_KEPT_MS && this.endings.size <= ENDINGS_KEPT_MAX) break;
      this.endings.delete(id);
    }
  }

  private keepalives(): void {
    const silentSince = Date.now() - this.opts.keepaliveMs;
    for (const r of this.running.values()) if (r.out.lastSent < silentSince) r.out.send([F.Keepalive]);
  }
}
