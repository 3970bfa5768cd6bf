// Process entry of the bare relay: the least a Node gateway of RouterHub's front end can do per
// request. uWebSockets.js takes the client's request as RouterHub's ingress does, undici sends the
// same bytes to the upstream as RouterHub's workers do, and the upstream's SSE bytes go back as
// they arrive: no parsing, keys, routing, NATS, Redis, translation or usage. Its CPU per request
// and added TTFT, measured beside RouterHub's in the same run, are the floor of this design on the
// machine. Prints its URL as the first line of stdout; stops on SIGTERM.
import { Agent, request } from 'undici';
import uWS from 'uWebSockets.js';

const upstream = process.argv[2];
const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: null, pipelining: 1 });

const app = uWS.App().post('/*', (res, req) => {
  // The client's path (`/b/<profile>/v1/responses`) names the upstream's stream profile.
  const path = req.getUrl();
  const authorization = req.getHeader('authorization');
  let aborted = false;
  res.onAborted(() => (aborted = true));
  const chunks: Buffer[] = [];
  res.onData((chunk, isLast) => {
    chunks.push(Buffer.from(chunk.slice(0)));
    if (!isLast) return;
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    request(`${upstream}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body, dispatcher })
      .then(async (up) => {
        if (aborted) return void up.body.destroy();
        res.cork(() => res.writeStatus(`${up.statusCode} OK`).writeHeader('content-type', 'text/event-stream'));
        for await (const data of up.body) {
          if (aborted) return void up.body.destroy();
          res.cork(() => res.write(data as Buffer));
        }
        if (!aborted) res.cork(() => res.end());
      })
      .catch(() => !aborted && res.cork(() => res.writeStatus('502 Bad Gateway').end()));
  });
});

app.listen('127.0.0.1', 0, (socket) => {
  if (!socket) throw new Error('the relay cannot listen');
  process.stdout.write(`http://127.0.0.1:${uWS.us_socket_local_port(socket)}\n`);
});
process.on('SIGTERM', () => process.exit(0));
