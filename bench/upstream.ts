// The bench upstream: every provider family's streaming endpoint, never the bottleneck. The wire
// formats are the mock provider's (libs/providers/mock/, the tests' own); what this adds is speed:
// each profile's events are rendered and encoded to Buffers once per family, then every stream only
// writes pre-built chunks, either as fast as the socket drains or paced at a token rate.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mockWires } from '../libs/providers/mock/index';
import type { MockWire } from '../libs/providers/mock/wire';
import { parseProfilePath, TOKEN_CHARS, tokenText, type StreamProfile } from './profile';

interface Encoded {
  /** What precedes the text (response.created…, message_start…): sent with the headers. */
  head: Buffer;
  /** Text events grouped eventsPerWrite to a buffer: one write each. */
  writes: Buffer[];
  /** What follows the text (done events, stop reason, usage, the terminal event). */
  tail: Buffer;
}

/** Every family frames a text turn as a head, one event per text chunk, and a tail. */
export function encodeProfile(p: StreamProfile, wire: MockWire): Encoded {
  const text = tokenText(p.tokens);
  const chunkChars = p.tokensPerEvent * TOKEN_CHARS;
  const events = wire.events({ parts: [{ type: 'text', text }], chunkChars, usage: { input: 10_000, output: p.tokens } }, { model: 'bench-model', id: 'bench' });
  const deltaCount = Math.ceil(p.tokens / p.tokensPerEvent);
  const first = events.findIndex((e) => e.includes(JSON.stringify(text.slice(0, chunkChars))));
  const last = JSON.stringify(text.slice((deltaCount - 1) * chunkChars));
  if (first < 0 || !events[first + deltaCount - 1]?.includes(last)) throw new Error(`bench upstream: the ${wire.family} stream does not carry its text as one event per chunk`);
  const deltas = events.slice(first, first + deltaCount);
  const writes: Buffer[] = [];
  for (let i = 0; i < deltas.length; i += p.eventsPerWrite) writes.push(Buffer.from(deltas.slice(i, i + p.eventsPerWrite).join('')));
  return { head: Buffer.from(events.slice(0, first).join('')), writes, tail: Buffer.from(events.slice(first + deltaCount).join('')) };
}

export class BenchUpstream {
  private server!: Server;
  private readonly cache = new Map<string, { profile: StreamProfile; enc: Encoded }>();
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

  private encoded(path: string): { profile: StreamProfile; enc: Encoded } | null {
    let found = this.cache.get(path);
    if (!found) {
      const parsed = parseProfilePath(path);
      const wire = parsed && mockWires.find((w) => w.matches(parsed.apiPath));
      if (!parsed || !wire) return null;
      found = { profile: parsed.profile, enc: encodeProfile(parsed.profile, wire) };
      this.cache.set(path, found);
    }
    return found;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const found = req.method === 'POST' ? this.encoded(path) : null;
    if (!found) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"bench upstream: POST /b/<tokens>/<perEvent>/<perWrite>/<rate>/v1 followed by a provider API path (/responses, /chat/completions, /messages, /models/<m>:streamGenerateContent)","type":"invalid_request_error","param":null,"code":"not_found"}}');
      return;
    }
    const { profile, enc } = found;
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
