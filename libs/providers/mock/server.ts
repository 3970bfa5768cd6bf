// A mock upstream that speaks every provider family's real wire format on loopback. It answers
// scripted turns first (tests), then the deterministic demo behaviour (the demo model, benchmarks).
// It records each request it got and whether the caller went away mid-stream.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoTurn } from './demo';
import { mockWires } from './index';
import type { MockRequest, MockTurn } from './script';
import type { MockRequestView, MockWire } from './wire';

export interface MockUpstreamOptions {
  port?: number;
  host?: string;
  /** The answer when nothing is scripted. */
  defaultTurn?: (view: MockRequestView, wire: MockWire) => MockTurn;
}

export class MockUpstream {
  readonly requests: MockRequest[] = [];
  /** TCP connections accepted so far (callers should reuse theirs). */
  connections = 0;
  private readonly queue: MockTurn[] = [];
  /** Turns kept for the request whose body contains a marker (concurrent requests arrive in any order). */
  private readonly marked = new Map<string, MockTurn>();
  private server!: Server;
  private counter = 0;
  url = '';

  private constructor(private readonly opts: MockUpstreamOptions) {}

  static async start(opts: MockUpstreamOptions = {}): Promise<MockUpstream> {
    const mock = new MockUpstream(opts);
    mock.server = createServer((req, res) => void mock.handle(req, res));
    mock.server.keepAliveTimeout = 60_000;
    mock.server.on('connection', () => mock.connections++);
    await new Promise<void>((resolve) => mock.server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
    mock.url = `http://${opts.host ?? '127.0.0.1'}:${(mock.server.address() as AddressInfo).port}`;
    return mock;
  }

  /** Queue turns: each upstream request takes the next one, whatever its family. */
  script(...turns: MockTurn[]): void {
    this.queue.push(...turns);
  }

  /** The turn for the first request whose raw body contains `marker`, ahead of the queue. */
  scriptFor(marker: string, turn: MockTurn): void {
    this.marked.set(marker, turn);
  }

  reset(): void {
    this.queue.length = 0;
    this.marked.clear();
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private markedTurn(raw: string): MockTurn | undefined {
    for (const [marker, turn] of this.marked) {
      if (!raw.includes(marker)) continue;
      this.marked.delete(marker);
      return turn;
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const raw = await readBody(req);
    const wire = req.method === 'POST' ? mockWires.find((w) => w.matches(path)) : undefined;
    if (!wire) return json(res, 404, { error: { message: `mock upstream: no provider API at ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: 'not_found' } });

    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return json(res, 400, { error: { message: 'mock upstream: body is not JSON', type: 'invalid_request_error', param: null, code: null } });
    }
    const record: MockRequest = { family: wire.family, path, headers: req.headers, body, aborted: false, finished: false };
    this.requests.push(record);
    const turn = this.markedTurn(raw) ?? this.queue.shift() ?? (this.opts.defaultTurn ?? demoTurn)(wire.view(body), wire);

    if (turn.httpError) {
      const e = wire.errorResponse(turn.httpError);
      res.writeHead(e.status, e.headers).end(e.body);
      record.finished = true;
      return;
    }
    const model = String(body.model ?? /models\/([^:/]+)/.exec(path)?.[1] ?? 'mock-model');
    let events = wire.events(turn, { model, id: `mock${++this.counter}` });
    if (turn.cutAfterEvents !== undefined) events = events.slice(0, turn.cutAfterEvents);
    res.on('close', () => {
      if (!record.finished) record.aborted = true;
    });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders(); // providers answer headers at once, then think
    if (turn.garbage) events = [...events.slice(0, turn.garbage.afterEvents), turn.garbage.bytes];
    if (turn.initialDelayMs) await sleep(turn.initialDelayMs);
    const stallAt = turn.stall?.afterEvents ?? -1;
    const segments = stallAt >= 0 ? [events.slice(0, stallAt), events.slice(stallAt)] : [events];
    for (const [i, segment] of segments.entries()) {
      if (i > 0) await stallUntil(res, turn.stall?.ms);
      if (!turn.delayMs) {
        if (!res.destroyed) res.write(segment.join(''));
      } else {
        for (const ev of segment) {
          if (res.destroyed) return;
          res.write(ev);
          await sleep(turn.delayMs);
        }
      }
    }
    if (res.destroyed) return;
    record.finished = true;
    if (turn.cutAfterEvents !== undefined && turn.cutHow !== 'end') {
      // A broken connection, not a clean end; after a pause, so the events sent before it arrive.
      setTimeout(() => res.destroy(), 50);
      return;
    }
    res.end();
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A stalled upstream: silent for `ms`, or until the caller goes away. */
function stallUntil(res: ServerResponse, ms: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    const timer = ms === undefined ? null : setTimeout(done, ms);
    res.once('close', done);
    function done() {
      if (timer) clearTimeout(timer);
      res.off('close', done);
      resolve();
    }
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
