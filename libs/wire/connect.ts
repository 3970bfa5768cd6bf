import { connect, Events, type NatsConnection } from 'nats';

/** A NATS connection that reconnects forever: a NATS restart must not take a process down. */
export function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 10_000 });
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
