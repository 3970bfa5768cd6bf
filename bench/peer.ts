// The peer gateway: Portkey's open-source AI gateway (@portkey-ai/gateway, pinned), installed by
// the bench into bench/peer/ (git-ignored; never a RouterHub dependency) and run on loopback. It
// reaches the bench upstream through its custom-host headers (`x-portkey-provider: openai`,
// `x-portkey-custom-host: <upstream>/…/v1`) and proxies POST /v1/responses streams as they come.
// Before any measurement a preflight stream checks that the peer can serve a Codex stream at all;
// when it cannot, the bench reports why (its status, body and the first error line of its log).
//
// Portkey 1.15.2 on Node answers every streaming /v1/responses with HTTP 500 ("TypeError: immutable",
// its issue #1550): it appends its x-portkey-* headers to the upstream's fetch Response, whose headers
// are immutable. The bench applies the fix of its PR #1551 to the installed build (the mapped streaming
// response is copied into a new Response first), and the report says so.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, paths, waitForPort } from '../deploy/cluster';
import { stopChild } from './procs';
import type { StreamProfile } from './profile';
import { peerTarget } from './targets';

export const PEER_PACKAGE = '@portkey-ai/gateway';
export const PEER_VERSION = '1.15.2';
const PREFIX = join(paths.ROOT, 'bench', 'peer');
const PKG_DIR = join(PREFIX, 'node_modules', '@portkey-ai', 'gateway');
const SERVER = join(PKG_DIR, 'build', 'start-server.js');
export const PEER_PATCH = 'PR #1551 (fix for #1550, streaming /v1/responses on Node)';
// ResponseService.create in the minified 1.15.2 build: r = isResponseAlreadyMapped, i = the response.
const UNPATCHED = 'r?(i=t,c=s):({response:i,';
const PATCHED = 'r?(i=t,c=s,this.context.isStreaming&&(i=new Response(i.body,{status:i.status,statusText:i.statusText,headers:new Headers(i.headers)}))):({response:i,';

export interface Peer { name: string; version: string; url: string; proc: ChildProcess; stop(): Promise<void> }

/** Installs the pinned version into bench/peer/ unless it is there; throws with npm's reason. */
export function ensurePeerInstalled(): void {
  const pkg = join(PKG_DIR, 'package.json');
  if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version === PEER_VERSION) return;
  console.log(`[bench] installing ${PEER_PACKAGE}@${PEER_VERSION} into bench/peer/`);
  const r = spawnSync('npm', ['install', '--prefix', PREFIX, '--no-save', '--no-audit', '--no-fund', `${PEER_PACKAGE}@${PEER_VERSION}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm install ${PEER_PACKAGE}@${PEER_VERSION} failed: ${(r.stderr || r.error?.message || '').trim().slice(-500)}`);
}

/** Applies PR #1551 to the installed build (once); throws when the build is not the one it was written for. */
function patchPeer(): void {
  const code = readFileSync(SERVER, 'utf8');
  if (code.includes(PATCHED)) return;
  if (code.split(UNPATCHED).length !== 2) throw new Error(`cannot apply ${PEER_PATCH}: ${SERVER} is not the build it was written for`);
  writeFileSync(SERVER, code.replace(UNPATCHED, PATCHED));
}

export async function startPeer(upstreamUrl: string): Promise<Peer> {
  ensurePeerInstalled();
  patchPeer();
  const port = await freePort();
  const proc = spawn(process.execPath, [SERVER, `--port=${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (b: Buffer) => void (log.length < 20_000 && (log += b.toString()));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const peer: Peer = { name: 'Portkey gateway', version: `${PEER_VERSION} + ${PEER_PATCH}`, url: `http://127.0.0.1:${port}`, proc, stop: () => stopChild(proc) };
  try {
    await waitForPort(port, 20_000);
    const t = peerTarget(peer.url, upstreamUrl, proc.pid!).request(PREFLIGHT);
    const res = await fetch(`${t.origin}${t.path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...t.headers }, body: t.body });
    const body = await res.text();
    if (res.status !== 200 || !body.includes('response.completed')) {
      const why = /^.*(Error|error).*$/m.exec(log.replace(/\x1b\[[0-9;]*m/g, ''))?.[0].trim() ?? 'nothing in its log';
      throw new Error(`POST /v1/responses (stream: true) through ${PEER_PACKAGE}@${PEER_VERSION} answers HTTP ${res.status} ${body.slice(0, 120)}; its log: "${why}"`);
    }
  } catch (err) {
    await stopChild(proc);
    throw err;
  }
  proc.stdout!.removeListener('data', keep);
  proc.stderr!.removeListener('data', keep);
  proc.stdout!.resume();
  proc.stderr!.resume();
  return peer;
}

const PREFLIGHT: StreamProfile = { tokens: 5, tokensPerEvent: 1, eventsPerWrite: 1, rate: 0 };
