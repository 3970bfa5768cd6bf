// The bare relays' processes (relay-main.ts), on the gateway's CPU like RouterHub's processes.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ServerProcess } from '../libs/testing/faults';
import { PIN, pin, startNode, stopChild } from './procs';
import { relayTarget, type Target } from './targets';

export interface Relay { target: Target; stop(): Promise<void> }

/** `relay-main.js direct`: one process between client and upstream. */
export async function startRelay(upstreamUrl: string): Promise<Relay> {
  const { proc, line } = await relayProcess(['direct', upstreamUrl]);
  return { target: relayTarget('relay', line, () => ({ relay: proc.pid! })), stop: () => stopChild(proc) };
}

/** `front` and `back` over a nats-server of their own: the same hops as RouterHub's ingress and worker. */
export async function startNatsRelay(upstreamUrl: string): Promise<Relay> {
  const nats = await ServerProcess.nats();
  pin(nats.pid!, PIN.gateway);
  const started: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(started.reverse().map(stopChild));
    await nats.stop();
  };
  try {
    const back = await relayProcess(['back', nats.url, upstreamUrl]);
    started.push(back.proc);
    const front = await relayProcess(['front', nats.url]);
    started.push(front.proc);
    const pids = () => ({ 'relay-front': front.proc.pid!, 'relay-back': back.proc.pid!, nats: nats.pid! });
    return { target: relayTarget('relay-nats', front.line, pids), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function relayProcess(args: string[]): Promise<{ proc: ChildProcess; line: string }> {
  return startNode([join(__dirname, 'relay-main.js'), ...args], PIN.gateway, `the relay (${args[0]})`);
}
