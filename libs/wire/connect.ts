import { connect, type NatsConnection } from 'nats';

/** A NATS connection that reconnects forever: a NATS restart must not take a process down. */
export function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 10_000 });
}
