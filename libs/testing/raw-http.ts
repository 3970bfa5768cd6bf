// Test support: an HTTP/1.1 request written byte for byte on a TCP socket, for what fetch cannot
// send (header names and counts a server may refuse) and for servers that answer with silence.
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
