// What reading a request costs: the ingress's readRequestHead (every field but the input, parsed and
// validated; the input's items found in the bytes), the worker's parseRequest (JSON.parse, schema,
// input bounds) and the bound walk alone, on the captured Codex request and on a late session of
// 2,000 items (~2.2 MB). `node dist/bench/parse.js`; the machine's load moves these numbers, compare
// runs back to back.
import { checkInputBounds, DEFAULT_INPUT_LIMITS } from '../libs/protocol/bounds';
import { parseRequest, readRequestHead } from '../libs/protocol/validate';
import { codexRequest } from '../libs/providers/replay';

const codex = codexRequest();
const history: unknown[] = [];
for (let i = 0; history.length < 2000; i++) {
  history.push({ type: 'function_call', id: `fc_${i}`, call_id: `call_${i}`, name: 'exec_command', arguments: JSON.stringify({ cmd: `rg -n foo src/${i}`, workdir: '/repo' }) });
  history.push({ type: 'function_call_output', id: `fco_${i}`, call_id: `call_${i}`, output: 'Chunk ID: x\nOutput:\n' + 'line of tool output\n'.repeat(100) });
  history.push({ type: 'reasoning', id: `rs_${i}`, summary: [{ type: 'summary_text', text: 'thinking '.repeat(10) }], content: null, encrypted_content: 'e'.repeat(1200) });
  history.push({ type: 'message', id: `msg_${i}`, role: 'assistant', content: [{ type: 'output_text', text: 'answer '.repeat(100) }] });
}

/** Median and best microseconds per call over 15 rounds of `n` calls. */
function time(n: number, f: () => unknown): string {
  const rounds: number[] = [];
  for (let r = 0; r < 15; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f();
    rounds.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
  }
  rounds.sort((a, b) => a - b);
  return `${rounds[7].toFixed(1)} µs (best ${rounds[0].toFixed(1)})`;
}

for (const [name, doc, n] of [['Codex request', codex, 500], ['2,000-item session', { ...codex, input: [...codex.input, ...history] }, 10]] as const) {
  const body = Buffer.from(JSON.stringify(doc));
  const text = body.toString('utf8');
  const parsed = JSON.parse(text) as object;
  for (let i = 0; i < n; i++) parseRequest(body); // warm up
  console.log(`${name}, ${(body.length / 1024).toFixed(0)} KiB: ingress readRequestHead ${time(n, () => readRequestHead(body))}, worker parseRequest ${time(n, () => parseRequest(body))}, JSON.parse ${time(n, () => JSON.parse(text))}, bound walk ${time(n * 10, () => checkInputBounds(parsed, DEFAULT_INPUT_LIMITS))}`);
}
