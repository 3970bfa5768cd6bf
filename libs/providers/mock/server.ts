// A mock upstream that speaks every provider family's real wire format on loopback. It answers
// scripted turns first (tests), then the deterministic demo behaviour (the demo model, benchmarks).
// It records each request it got and whether the caller went away mid-stream.
import { createHash, type Hash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoTurn } from './demo';
import { MockContextCaches } from './gemini';
import { mockWires } from './index';
import { defaultUsage, type MockRequest, type MockTurn } from './script';
import { recordedEvent, type MockRequestView, type MockWire } from './wire';

export interface MockUpstreamOptions {
  port?: number;
  host?: string;
  /** The answer when nothing is scripted; `model` is the upstream model the request names. */
  defaultTurn?: (view: MockRequestView, wire: MockWire, model: string) => MockTurn;
  /** Like a real provider: a request that does not carry this credential (in any header or the query) gets 401. */
  requireKey?: string;
  /** Like a real provider: a model not in this list gets 404 (unset: every model is known). */
  knownModels?: string[];
  /**
   * Each deployment (the upstream model name) keeps its own prompt cache: a response's usage counts
   * as cached the longest prefix (instructions and tools, then whole input items) that deployment
   * saw before, ~4 characters a token, as a provider's cache per machine pool or org does.
   */
  prefixCache?: boolean;
  /**
   * openai-responses: each deployment signs its reasoning's encrypted_content and answers 400
   * invalid_encrypted_content to any other deployment's, as OpenAI does across organisations.
   */
  ownReasoning?: boolean;
  /** gemini: a context cache (`cachedContents`) smaller than this many tokens is refused (default: none is). */
  contextCacheMinTokens?: number;
}

export class MockUpstream {
  readonly requests: MockRequest[] = [];
  /** TCP connections accepted so far (callers should reuse theirs). */
  connections = 0;
  private readonly queue: MockTurn[] = [];
  /** Deployments (upstream model names) that answer every request with an HTTP error until cleared. */
  private readonly outages = new Map<string, NonNullable<MockTurn['httpError']>>();
  /** Per deployment: digests of every prompt prefix it has seen (prefixCache). */
  private readonly prefixes = new Map<string, Set<string>>();
  /** Requests refused with invalid_encrypted_content (ownReasoning). */
  readonly rejectedReasoning: MockRequest[] = [];
  /** Turns kept for the request whose body contains a marker (concurrent requests arrive in any order). */
  private readonly marked = new Map<string, MockTurn>();
  /** gemini's explicit context caches: what was created, and what a request's `cachedContent` reads. */
  readonly contextCaches: MockContextCaches;
  private server!: Server;
  private counter = 0;
  url = '';

  private constructor(private readonly opts: MockUpstreamOptions) {
    this.contextCaches = new MockContextCaches(opts.contextCacheMinTokens);
  }

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
    this.outages.clear();
    this.prefixes.clear();
    this.rejectedReasoning.length = 0;
    this.contextCaches.reset();
  }

  /** Makes one deployment (by its upstream model name) answer `err` to every request; null ends the outage. */
  outage(model: string, err: NonNullable<MockTurn['httpError']> | null): void {
    if (err) this.outages.set(model, err);
    else this.outages.delete(model);
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
    if (req.method === 'POST' && MockContextCaches.matches(path)) return this.createContextCache(req, res, raw);
    const wire = req.method === 'POST' ? mockWires.find((w) => w.matches(path)) : undefined;
    if (!wire) return json(res, 404, { error: { message: `mock upstream: no provider API at ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: 'not_found' } });

    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return json(res, 400, { error: { message: 'mock upstream: body is not JSON', type: 'invalid_request_error', param: null, code: null } });
    }
    const model = String(body.model ?? /models\/([^:/]+)/.exec(path)?.[1] ?? 'mock-model');
    const record: MockRequest = { family: wire.family, path, headers: req.headers, body, aborted: false, finished: false, model };
    this.requests.push(record);
    const { knownModels } = this.opts;
    const rejected = !this.keyAccepted(req)
      ? { status: 401, message: 'Incorrect API key provided.', type: 'authentication_error' }
      : knownModels && !knownModels.includes(model) ? { status: 404, message: `The model '${model}' does not exist.`, type: 'not_found_error' } : null;
    const down = this.outages.get(model);
    const foreign = this.opts.ownReasoning && wire.family === 'openai-responses' ? foreignReasoning(body, model) : null;
    // A request naming a context cache is read as the cache's prefix followed by its own contents.
    const cached = wire.family === 'gemini' && !rejected && !down ? this.contextCaches.resolve(body, model) : null;
    if (cached && 'error' in cached) {
      res.writeHead(cached.error.status, cached.error.headers).end(cached.error.body);
      record.finished = true;
      return;
    }
    const read = cached?.body ?? body;
    if (down || foreign) {
      if (foreign) this.rejectedReasoning.push(record);
      const e = foreign ? invalidEncryptedContent(foreign) : wire.errorResponse(down!);
      res.writeHead(e.status, e.headers).end(e.body);
      record.finished = true;
      return;
    }
    let turn: MockTurn = rejected ? { parts: [], httpError: rejected } : this.markedTurn(raw) ?? this.queue.shift() ?? (this.opts.defaultTurn ?? demoTurn)(wire.view(read), wire, model);
    if (cached && !turn.usage) {
      const input = cached.cachedTokens + Math.ceil(JSON.stringify(body.contents ?? []).length / 4);
      turn = { ...turn, usage: { input, cached: cached.cachedTokens, output: defaultUsage(turn).output } };
    } else if (this.opts.prefixCache && !turn.usage) {
      turn = { ...turn, usage: { ...this.cacheUsage(model, body), output: defaultUsage(turn).output } };
    }
    if (this.opts.ownReasoning) turn = { ...turn, parts: turn.parts.map((p) => (p.type === 'reasoning' ? { ...p, signature: `${reasoningSignature(model)}${++this.counter}` } : p)) };

    if (turn.httpError) {
      const e = wire.errorResponse(turn.httpError);
      res.writeHead(e.status, e.headers).end(e.body);
      record.finished = true;
      return;
    }
    let events = turn.recorded ? turn.recorded.map(recordedEvent) : wire.events(turn, { model, id: `mock${++this.counter}` });
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

  /** Like a real provider: without the configured credential (in any header or the query), a request gets 401. */
  private keyAccepted(req: IncomingMessage): boolean {
    const { requireKey } = this.opts;
    return !requireKey || JSON.stringify(req.headers).includes(requireKey) || (req.url ?? '').includes(requireKey);
  }

  /** gemini's `POST …/cachedContents`. */
  private createContextCache(req: IncomingMessage, res: ServerResponse, raw: string): void {
    if (!this.keyAccepted(req)) return json(res, 401, { error: { code: 401, message: 'API key not valid. Please pass a valid API key.', status: 'UNAUTHENTICATED' } });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return json(res, 400, { error: { code: 400, message: 'Invalid JSON payload received.', status: 'INVALID_ARGUMENT' } });
    }
    const answer = this.contextCaches.create(body);
    res.writeHead(answer.status, answer.headers).end(answer.body);
  }

  /** Input and cached tokens of a request at one deployment, and what that deployment now has cached. */
  private cacheUsage(model: string, body: Record<string, unknown>): { input: number; cached: number } {
    const seen = this.prefixes.get(model) ?? new Set<string>();
    this.prefixes.set(model, seen);
    const items = (['input', 'messages', 'contents'].map((k) => body[k]).find(Array.isArray) as unknown[] | undefined) ?? [body.input];
    const head = JSON.stringify([body.instructions ?? body.system ?? body.systemInstruction ?? null, body.tools ?? null]);
    const hash: Hash = createHash('sha256').update(head);
    let chars = head.length;
    let cachedChars = 0;
    const digests: string[] = [];
    for (const item of items) {
      const text = JSON.stringify(item);
      hash.update(text);
      chars += text.length;
      const digest = hash.copy().digest('hex');
      if (seen.has(digest)) cachedChars = chars;
      digests.push(digest);
    }
    for (const d of digests) seen.add(d);
    return { input: Math.ceil(chars / 4), cached: Math.floor(cachedChars / 4) };
  }
}

/** What one deployment puts before its reasoning's encrypted_content (ownReasoning). */
function reasoningSignature(model: string): string {
  return `enc-${model}-`;
}

/** The id of the first reasoning item another deployment signed, or null. */
function foreignReasoning(body: Record<string, unknown>, model: string): string | null {
  if (!Array.isArray(body.input)) return null;
  for (const item of body.input as Array<Record<string, unknown>>) {
    if (item.type !== 'reasoning' || typeof item.encrypted_content !== 'string') continue;
    if (!item.encrypted_content.startsWith(reasoningSignature(model))) return String(item.id ?? 'rs_unknown');
  }
  return null;
}

/** OpenAI's answer to encrypted reasoning from another organisation. */
function invalidEncryptedContent(itemId: string): { status: number; headers: Record<string, string>; body: string } {
  const error = { message: `The encrypted content for item ${itemId} could not be verified.`, type: 'invalid_request_error', param: null, code: 'invalid_encrypted_content' };
  return { status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error }) };
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
