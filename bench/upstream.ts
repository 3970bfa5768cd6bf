// The bench upstream: an OpenAI Responses endpoint that is never the bottleneck. The wire format is
// the mock provider's (libs/providers/mock/openai-responses.ts); what this adds is speed: each
// profile's events are rendered and encoded to Buffers once, then every stream only writes
// pre-built chunks, either as fast as the socket drains or paced at a token rate.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openaiResponsesWire } from '../libs/providers/mock/openai-responses';
import { parseProfilePath, TOKEN_CHARS, tokenText, type StreamProfile } from './profile';

interface Encoded {
  /** response.created … content_part.added: sent with the headers. */
  head: Buffer;
  /** Delta events grouped eventsPerWrite to a buffer: one write each. */
  writes: Buffer[];
  /** The done events and response.completed. */
  tail: Buffer;
}

const HEAD_EVENTS = 4;

export function encodeProfile(p: StreamProfile): Encoded {
  const events = openaiResponsesWire.events(
    { parts: [{ type: 'text', text: tokenText(p.tokens) }], chunkChars: p.tokensPerEvent * TOKEN_CHARS, usage: { input: 10_000, output: p.tokens } },
    { model: 'bench-model', id: 'bench' },
  );
  const deltaCount = Math.ceil(p.tokens / p.tokensPerEvent);
  const deltas = events.slice(HEAD_EVENTS, HEAD_EVENTS + deltaCount);
  const writes: Buffer[] = [];
  for (let i = 0; i < deltas.length; i += p.eventsPerWrite) writes.push(Buffer.from(deltas.slice(i, i + p.eventsPerWrite).join('')));
  return { head: Buffer.from(events.slice(0, HEAD_EVENTS).join('')), writes, tail: Buffer.from(events.slice(HEAD_EVENTS + deltaCount).join('')) };
}

export class BenchUpstream {
  private server!: Server;
  private readonly cache = new Map<string, Encoded>();
  url = '';
  streams = 0;

  static async start(port = 0): Promise<BenchUpstream> {
    const up = new BenchUpstream();
    up.server = createServer((req, res) => up.handle(req, res));
    up.server.keepAliveTimeout = 120_000;
    up.server.headersTimeout = 130_000;
    up.server.requestTimeout = 0;
    up.server.maxConnections = 60_000;
    await new Promise<void>((resolve) => up.server.listen(port, '127.0.0.1', 65_535, resolve));
    up.url = `http://127.0.0.1:${(up.server.address() as AddressInfo).port}`;
    return up;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private encoded(path: string): Encoded | null {
    let e = this.cache.get(path);
    if (!e) {
      const p = parseProfilePath(path);
      if (!p) return null;
      e = encodeProfile(p);
      this.cache.set(path, e);
    }
    return e;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const enc = req.method === 'POST' ? this.encoded(path) : null;
    if (!enc) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"bench upstream: POST /b/<tokens>/<perEvent>/<perWrite>/<rate>/v1/responses","type":"invalid_request_error","param":null,"code":"not_found"}}');
      return;
    }
    const profile = parseProfilePath(path)!;
    // The body (the ~40 KB Codex request) is read, not parsed: the bench measures the gateway.
    req.on('data', () => undefined);
    req.on('end', () => {
      this.streams++;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(enc.head);
      if (profile.rate > 0) paced(res, enc, (profile.tokensPerEvent * profile.eventsPerWrite * 1000) / profile.rate);
      else void fast(res, enc);
    });
  }
}

/** As fast as the socket drains; a macrotask between writes so each is its own network chunk. */
async function fast(res: ServerResponse, enc: Encoded): Promise<void> {
  for (const w of enc.writes) {
    if (res.destroyed) return;
    if (!res.write(w)) await new Promise((r) => res.once('drain', r));
    else await new Promise((r) => setImmediate(r));
  }
  if (!res.destroyed) res.end(enc.tail);
}

/** One write every `intervalMs`, scheduled against the start time so timer drift does not slow the rate. */
function paced(res: ServerResponse, enc: Encoded, intervalMs: number): void {
  const start = performance.now();
  let i = 0;
  const tick = () => {
    if (res.destroyed) return;
    if (i >= enc.writes.length) return void res.end(enc.tail);
    res.write(enc.writes[i++]);
    setTimeout(tick, Math.max(0, start + i * intervalMs - performance.now()));
  };
  // A random phase, so that thousands of streams started together do not tick in lockstep.
  setTimeout(tick, Math.random() * intervalMs);
}
