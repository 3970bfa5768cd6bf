// Process entry of the bare relays: the least a Node gateway does per request, measured beside
// RouterHub in the same run so that its CPU per request and added TTFT have a floor on this machine.
//
//   relay-main.js direct <upstream>          one process: uWebSockets.js takes the client's request
//                                            as RouterHub's ingress does, undici sends the same bytes
//                                            to the upstream as RouterHub's workers do, and the SSE
//                                            bytes go back as they arrive.
//   relay-main.js front <nats> / back <nats> <upstream>
//                                            the same split in two processes over NATS, as RouterHub
//                                            is: the request rides one message to a queue-group
//                                            subscriber, the upstream's chunks come back one message
//                                            each on a subject of the front's (an empty one ends it).
//
// No parsing, keys, routing, Redis, translation or usage in either. Prints its URL (or "ready") as
// the first line of stdout; stops on SIGTERM.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import uWS, { type HttpResponse } from 'uWebSockets.js';
import { connectNats } from '../libs/wire/connect';

const [role, ...args] = process.argv.slice(2);
const JOBS = 'relay.job';
const END = new Uint8Array(0);

interface Reply { write(chunk: Uint8Array): void; end(): void }

/** A uWS server that hands each request's path and body to `forward`, and streams what it writes back. */
function front(forward: (path: string, authorization: string, body: Buffer, reply: Reply) => void): void {
  const app = uWS.App().post('/*', (res, req) => {
    // The client's path (`/b/<profile>/v1/responses`) names the upstream's stream profile.
    const path = req.getUrl();
    const authorization = req.getHeader('authorization');
    let aborted = false;
    let started = false;
    res.onAborted(() => (aborted = true));
    const chunks: Buffer[] = [];
    res.onData((chunk, isLast) => {
      chunks.push(Buffer.from(chunk.slice(0)));
      if (!isLast) return;
      forward(path, authorization, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), {
        write: (data) => !aborted && res.cork(() => {
          if (!started) res.writeStatus('200 OK').writeHeader('content-type', 'text/event-stream');
          started = true;
          res.write(data);
        }),
        end: () => !aborted && res.cork(() => (started ? res.end() : failed(res))),
      });
    });
  });
  app.listen('127.0.0.1', 0, (socket) => {
    if (!socket) throw new Error('the relay cannot listen');
    process.stdout.write(`http://127.0.0.1:${uWS.us_socket_local_port(socket)}\n`);
  });
}

function failed(res: HttpResponse): void {
  res.writeStatus('502 Bad Gateway').end();
}

/** The upstream call: each chunk of its body to `reply`, then its end. */
function call(dispatcher: Agent, url: string, authorization: string, body: Buffer, reply: Reply): void {
  request(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body, dispatcher })
    .then(async (up) => {
      for await (const data of up.body) reply.write(data as Buffer);
      reply.end();
    })
    .catch(() => reply.end());
}

async function main(): Promise<void> {
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: null, pipelining: 1 });
  if (role === 'direct') return front((path, auth, body, reply) => call(dispatcher, `${args[0]}${path}`, auth, body, reply));
  const nc = await connectNats(args[0], `relay-${role}`);
  if (role === 'front') {
    // One subscription for every reply (as RouterHub's ingress has), routed by the subject's last token.
    const id = randomUUID().slice(0, 8);
    const replies = new Map<string, Reply>();
    nc.subscribe(`relay.out.${id}.*`, {
      callback: (err, msg) => {
        const key = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
        const reply = replies.get(key);
        if (err || !reply) return;
        if (msg.data.byteLength === 0) {
          replies.delete(key);
          return reply.end();
        }
        reply.write(msg.data);
      },
    });
    let n = 0;
    return front((path, auth, body, reply) => {
      const key = String(n++);
      replies.set(key, reply);
      // path, authorization and body in one message: "<path>\n<authorization>\n<body>".
      nc.publish(JOBS, Buffer.concat([Buffer.from(`${path}\n${auth}\n`), body]), { reply: `relay.out.${id}.${key}` });
    });
  }
  nc.subscribe(JOBS, {
    queue: 'relay',
    callback: (err, msg) => {
      if (err || !msg.reply) return;
      const data = Buffer.from(msg.data); // a view into the NATS read buffer: keep a copy
      const a = data.indexOf(10), b = data.indexOf(10, a + 1);
      const replyTo = msg.reply;
      call(dispatcher, `${args[1]}${data.toString('latin1', 0, a)}`, data.toString('latin1', a + 1, b), data.subarray(b + 1), {
        write: (chunk) => nc.publish(replyTo, chunk),
        end: () => nc.publish(replyTo, END),
      });
    },
  });
  await nc.flush();
  process.stdout.write('ready\n');
}

process.on('SIGTERM', () => process.exit(0));
void main();
