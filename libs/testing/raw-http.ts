// Test support: HTTP/1.1 written byte for byte on a TCP socket, for what fetch cannot send (header
// names and counts a server may refuse, bad request lines, lying content-lengths, slowloris pieces,
// pipelining, garbage) and for servers that answer with silence. `rawRequest` reads until the server
// closes; `rawExchange` parses the answers as they come and says how the connection ended.
import { connect } from 'node:net';

export interface RawAnswer {
  /** Status of the answer, or null when the server sent no bytes at all. */
  status: number | null;
  /** The answer's body (after the blank line), as text. */
  body: string;
  /** Everything the server sent. */
  raw: string;
  /** How the exchange ended: the server closed or reset the connection, or we gave up waiting. */
  ended: 'closed' | 'reset' | 'timeout';
  /** Milliseconds from the first byte written to the end. */
  ms: number;
}

/**
 * Writes `parts` in order (`gapMs` apart, so that the server reads them separately) and reads until
 * the server closes the connection or `timeoutMs` passes. Send `Connection: close` to get a close.
 */
export function rawRequest(port: number, parts: string | string[], opts: { timeoutMs?: number; gapMs?: number } = {}): Promise<RawAnswer> {
  const chunks = typeof parts === 'string' ? [parts] : parts;
  return new Promise((resolve) => {
    const started = Date.now();
    const received: Buffer[] = [];
    let ended: RawAnswer['ended'] = 'closed';
    const socket = connect(port, '127.0.0.1', async () => {
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, opts.gapMs ?? 50));
        if (!socket.destroyed) socket.write(chunk);
      }
    });
    const timer = setTimeout(() => {
      ended = 'timeout';
      socket.destroy();
    }, opts.timeoutMs ?? 15_000);
    socket.on('data', (d) => received.push(d));
    socket.on('error', () => (ended = 'reset'));
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(received).toString('utf8');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      const split = raw.indexOf('\r\n\r\n');
      resolve({ status: status ? Number(status[1]) : null, body: split < 0 ? '' : raw.slice(split + 4), raw, ended, ms: Date.now() - started });
    });
  });
}

/** A GET with `Connection: close` and the given header lines (`name: value`). */
export function rawGet(path: string, headers: string[]): string {
  return `GET ${path} HTTP/1.1\r\nhost: routerhub\r\nconnection: close\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
}

export interface RawResponse { status: number; headers: Record<string, string>; body: string }

export interface RawExchange {
  responses: RawResponse[];
  /** How the connection ended: the server closed it (FIN), reset it, or it was still open when we stopped. */
  closed: 'end' | 'reset' | 'open';
  /** We stopped at the deadline without the responses we waited for. */
  hung: boolean;
  /** Bytes received that did not parse as a response. */
  trailing: string;
  ms: number;
}

/** What to send: bytes, or a pause between pieces (slowloris, a request in several writes). */
export type RawPiece = string | Buffer | { pauseMs: number };

/**
 * Sends `pieces` to 127.0.0.1:`port` and reads until `expect` responses have arrived (then closes),
 * the server closes, or `deadlineMs` passes. With `holdReading`, nothing is read until it settles.
 */
export function rawExchange(port: number, pieces: RawPiece[], opts: { expect?: number; deadlineMs: number; holdReading?: Promise<unknown> }): Promise<RawExchange> {
  const startedAt = Date.now();
  const expect = opts.expect ?? 1;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    // A client that does not read: the server's writes fill the socket buffers and then its own.
    if (opts.holdReading) {
      socket.pause();
      void opts.holdReading.finally(() => socket.resume());
    }
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (closed: RawExchange['closed'], hung: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const { responses, rest } = parseResponses(received);
      resolve({ responses, closed, hung, trailing: rest.toString('latin1'), ms: Date.now() - startedAt });
    };
    const timer = setTimeout(() => finish('open', parseResponses(received).responses.length < expect), opts.deadlineMs);
    socket.on('data', (d) => {
      received = Buffer.concat([received, d]);
      if (parseResponses(received).responses.length >= expect) finish('open', false);
    });
    socket.on('end', () => finish('end', false));
    socket.on('error', (err) => finish((err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as NodeJS.ErrnoException).code === 'EPIPE' ? 'reset' : 'end', false));
    socket.on('close', () => finish('end', false));
    socket.once('connect', async () => {
      for (const piece of pieces) {
        if (done) return;
        if (typeof piece === 'object' && !Buffer.isBuffer(piece)) await new Promise((r) => setTimeout(r, piece.pauseMs));
        else socket.write(piece);
      }
    });
  });
}

/** Complete responses at the front of `data` (content-length, chunked, or none for 1xx/204/304), and the bytes after them. */
export function parseResponses(data: Buffer): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const [statusLine, ...lines] = data.subarray(at, headEnd).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!m) break;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const status = Number(m[1]);
    let bodyStart = headEnd + 4;
    let body: Buffer;
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      let p = bodyStart;
      let complete = false;
      for (;;) {
        const lineEnd = data.indexOf('\r\n', p);
        if (lineEnd < 0) break;
        const size = parseInt(data.subarray(p, lineEnd).toString('latin1'), 16);
        if (Number.isNaN(size) || data.length < lineEnd + 2 + size + 2) break;
        parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
        if (size === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) break;
      body = Buffer.concat(parts);
      bodyStart = p;
    } else {
      const length = status < 200 || status === 204 || status === 304 ? 0 : Number(headers['content-length'] ?? 0);
      if (data.length < bodyStart + length) break;
      body = data.subarray(bodyStart, bodyStart + length);
      bodyStart += length;
    }
    responses.push({ status, headers, body: body.toString('utf8') });
    at = bodyStart;
  }
  return { responses, rest: data.subarray(at) };
}

/** A request as text: `head` is the request line and header lines (no blank line), `body` is sent as is. */
export function rawMessage(head: string[], body = ''): string {
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}
