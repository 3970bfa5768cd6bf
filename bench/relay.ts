// The bare relays' processes (relay-main.ts), on the gateway's CPU like RouterHub's processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ServerProcess } from '../libs/testing/faults';
import { PIN, pin, stopChild } from './procs';
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

async function relayProcess(args: string[]): Promise<{ proc: ChildProcess; line: string }> {
  const proc = spawn(process.execPath, [join(__dirname, 'relay-main.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  pin(proc.pid!, PIN.gateway);
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).once('line', resolve);
      proc.once('exit', (code) => reject(new Error(`the relay (${args[0]}) exited with ${code}`)));
    });
    return { proc, line };
  } catch (err) {
    await stopChild(proc);
    throw err;
  }
}
