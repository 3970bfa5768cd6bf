// The write path to one client, in one place: uWS corking, backpressure with a bounded backlog,
// the decision between an HTTP error and a committed 200 SSE stream, and abort handling.
import type { HttpResponse } from 'uWebSockets.js';
import { errorJson, statusLine, type HttpError } from '../protocol/errors';
import { ResponseStream } from '../protocol/sse';
import type { ApiError } from '../protocol/types';
import { metrics } from '../telemetry/metrics';
import { F, type Frame } from '../wire/frames';
import type { ResponseListener } from './dispatch';

export interface ClientOptions {
  stream: boolean;
  /** Bytes of SSE text held for a client that reads slower than the upstream writes; past it the client is dropped. */
  maxBacklogBytes: number;
  startedAt: number;
  /** Extra headers of the answer, whichever it is (x-ratelimit-*). */
  headers: Array<[string, string]>;
  /** Called once when the response is over for whatever reason (to release the dispatch). */
  onDone: (outcome: string) => void;
  /** Called when the client must be cut off (slow reader past the bound). */
  onDrop: () => void;
}

/** Asks for the response cache (request) and tells its verdict (answer: hit, miss, bypass). */
export const CACHE_HEADER = 'x-routerhub-cache';

export class ClientResponse implements ResponseListener {
  aborted = false;
  /** The response cache's verdict, once the worker sent it (before anything else of the answer). */
  private cacheStatus: string | null = null;
  private committed = false;
  private ended = false;
  private backlog: string[] = [];
  private backlogBytes = 0;
  private waiting = false;
  private endPending = false;

  constructor(
    private readonly res: HttpResponse,
    private readonly rs: ResponseStream,
    private readonly opts: ClientOptions,
  ) {}

  /** uWS told us the connection is gone: never touch `res` again. */
  abort(): void {
    this.aborted = true;
    if (this.ended) return;
    this.ended = true;
    this.opts.onDone('client_aborted');
  }

  onFrames(frames: Frame[]): void {
    if (this.ended) return;
    if (!this.opts.stream) return this.collect(frames);
    let text = '';
    let terminal = false;
    // An upstream's 200 commits the stream at the end of its batch (or at its first output): the
    // upstream's own response settings that came with it then reach `response.created`.
    let started = false;
    for (const f of frames) {
      switch (f[0]) {
        case F.Accepted:
          continue;
        case F.CacheStatus:
          this.cacheStatus = f[1];
          continue;
        case F.Started:
          started = true;
          continue;
        case F.ResponseFields:
          this.rs.frame(f);
          continue;
        case F.Failed:
          if (!this.committed && !started) return this.error(f[2], f[1], f[3]);
          terminal = true;
          break;
        case F.Completed:
          terminal = true;
          break;
        case F.Keepalive:
          if (this.committed) {
            text += this.rs.keepalive();
            continue;
          }
          break;
      }
      if (!this.committed) text += this.commit();
      text += this.rs.frame(f);
    }
    if (started && !this.committed) text += this.commit();
    if (text) this.write(text, terminal);
  }

  onFailure(error: HttpError): void {
    if (this.ended) return;
    // These failures (no worker, a worker or frames lost, a stopping ingress) pass: their errors say when to retry.
    if (!this.committed) return this.error(error.status, error.body, error.retryAfterSeconds);
    this.write(this.rs.failed(error.body), true);
  }

  /** `stream: false`: the whole response as one JSON object once the terminal frame arrives. */
  private collect(frames: Frame[]): void {
    for (const f of frames) {
      if (f[0] === F.CacheStatus) {
        this.cacheStatus = f[1];
        continue;
      }
      if (f[0] === F.Failed) return this.error(f[2], f[1], f[3]);
      this.rs.frame(f);
      if (f[0] === F.Completed) {
        const body = this.rs.responseJson(this.rs.terminal ?? 'completed');
        this.finishWith('200 OK', 'application/json', body, this.rs.terminal ?? 'completed');
        return;
      }
    }
  }

  /** An HTTP error before anything was streamed (Codex retries 429 with Retry-After, shows 502/503 bodies). */
  error(status: number, error: ApiError, retryAfter: number | null): void {
    if (this.ended) return;
    this.finishWith(statusLine(status), 'application/json', errorJson(error), `http_${status}`, retryAfter);
  }

  private finishWith(status: string, type: string, body: string, outcome: string, retryAfter: number | null = null): void {
    this.ended = true;
    this.res.cork(() => {
      this.res.writeStatus(status).writeHeader('content-type', type).writeHeader('x-request-id', this.rs.id);
      for (const [name, value] of this.opts.headers) this.res.writeHeader(name, value);
      if (this.cacheStatus) this.res.writeHeader(CACHE_HEADER, this.cacheStatus);
      if (retryAfter !== null) this.res.writeHeader('retry-after', String(retryAfter));
      this.res.end(body);
    });
    this.opts.onDone(outcome);
  }

  private commit(): string {
    this.committed = true;
    metrics.timeToFirstByte.observe((performance.now() - this.opts.startedAt) / 1000);
    this.res.cork(() => {
      this.res.writeStatus('200 OK')
        .writeHeader('content-type', 'text/event-stream; charset=utf-8')
        .writeHeader('cache-control', 'no-cache')
        .writeHeader('x-request-id', this.rs.id);
      for (const [name, value] of this.opts.headers) this.res.writeHeader(name, value);
      if (this.cacheStatus) this.res.writeHeader(CACHE_HEADER, this.cacheStatus);
    });
    return this.rs.start();
  }

  private write(text: string, end: boolean): void {
    if (end) {
      this.ended = true;
      this.opts.onDone(this.rs.terminal ?? 'failed');
    }
    if (this.waiting) {
      this.backlog.push(text);
      this.backlogBytes += text.length;
      this.endPending ||= end;
      if (this.backlogBytes > this.opts.maxBacklogBytes) this.drop();
      return;
    }
    let ok = true;
    this.res.cork(() => {
      ok = this.res.write(text);
      if (ok && end) this.res.end();
    });
    if (!ok) {
      this.waiting = true;
      this.endPending = end;
      this.res.onWritable(() => this.drain());
    }
  }

  private drain(): boolean {
    if (this.aborted) return true;
    if (this.backlog.length > 0) {
      const text = this.backlog.join('');
      this.backlog = [];
      this.backlogBytes = 0;
      if (!this.res.write(text)) return false;
    }
    this.waiting = false;
    if (this.endPending) this.res.end();
    return true;
  }

  private drop(): void {
    metrics.slowClientDrops.inc();
    this.backlog = [];
    this.aborted = true;
    if (!this.ended) {
      this.ended = true;
      this.opts.onDone('slow_client');
    }
    this.opts.onDrop();
    this.res.close();
  }
}
