// The bare relay's process (relay-main.ts), on the gateway's CPU like RouterHub's processes.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PIN, pin, stopChild } from './procs';
import { relayTarget, type Target } from './targets';

export async function startRelay(upstreamUrl: string): Promise<{ target: Target; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [join(__dirname, 'relay-main.js'), upstreamUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
  pin(proc.pid!, PIN.gateway);
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`the relay exited with ${code}`)));
  });
  return { target: relayTarget(url, proc.pid!), stop: () => stopChild(proc) };
}
