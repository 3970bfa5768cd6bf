import { connect, Events, type Msg, type NatsConnection, type NatsError } from 'nats';
import { metrics } from '../telemetry/metrics';

/**
 * A NATS connection that reconnects forever: a NATS restart must not take a process down. `url` may
 * list every server of a cluster, comma-separated (NATS_URL): the first start does not depend on one
 * node, and a lost node's clients move to another (the servers' own gossip adds nodes not listed).
 */
export function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({ servers: natsServers(url), name, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 10_000 });
}

/** NATS's own default max_payload, for a connection that has not read its server's INFO yet. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** The largest message this connection's server takes (max_payload from its INFO). */
export function maxPayload(nc: NatsConnection): number {
  return nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
}

export function natsServers(url: string): string[] {
  return url.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Whether the connection is up now. `isClosed()` is not it: a client that lost its server and is
 * reconnecting is not closed, yet nothing it publishes reaches a worker until it is back.
 */
export function natsLink(nc: NatsConnection): { connected(): boolean } {
  let up = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === Events.Disconnect) up = false;
      else if (s.type === Events.Reconnect) up = true;
    }
  })().catch(() => undefined);
  return { connected: () => up && !nc.isClosed() };
}

/**
 * A subscription callback that survives the messages it is sent. nats.js closes the connection's
 * reader when a callback throws, and reconnects: every message in flight to the process is lost, so
 * one undecodable message (a corrupt one, one from a build that speaks another frame format) broke
 * every stream of the ingress or worker that read it. Here it is dropped, counted by `kind` (the
 * subscription's purpose) and logged.
 */
export function guarded(kind: string, handle: (msg: Msg) => void, log?: (line: string) => void): (err: NatsError | null, msg: Msg) => void {
  return (err, msg) => {
    if (err) return;
    try {
      handle(msg);
    } catch (e) {
      metrics.natsMessagesDropped.inc({ kind });
      log?.(`a ${kind} message on ${msg.subject} (${msg.data.byteLength} bytes) dropped: ${(e as Error).message}`);
    }
  };
}
