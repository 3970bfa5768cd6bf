// Codex CLI end to end through the real cluster, for every provider family: Codex reads the model
// catalog RouterHub serves, runs the tools the (mock) upstream calls, and sends the results back.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { mockWires } from '../../libs/providers/mock/index';
import { familyCatalog, startTestCluster, type TestCluster } from '../../libs/testing/cluster';
import { CODEX_MODELS, codexHome, runCodex, workspace, type CodexRun } from '../../libs/testing/codex';

let tc: TestCluster;

t.before(async () => {
  tc = await startTestCluster((url) => familyCatalog(url, CODEX_MODELS, { reasoning: true, context_window: 200_000 }));
});
t.teardown(() => tc.stop());
t.beforeEach(() => tc.mock.reset());

const wireOf = (family: string) => mockWires.find((w) => w.family === family)!;

function exitedOk(t: Test, run: CodexRun): void {
  t.equal(run.code, 0, run.code === 0 ? 'codex exited 0' : `codex exited ${run.code}: ${run.stderr.slice(-2000)}`);
}

t.test('codex exec prints the answer to "What is 2 + 2?"', async (t) => {
  tc.mock.script({ parts: [{ type: 'text', text: '2 + 2 = 4.' }] });
  const home = codexHome(tc.cluster.baseUrl, 'openai/test-codex');
  const run = await runCodex(home, tc.key, workspace(), ['What is 2 + 2?']);
  exitedOk(t, run);
  t.match(run.stdout, /2 \+ 2 = 4\./);
  t.equal(tc.mock.requests.length, 1);
  const sent = tc.mock.requests[0].body as { input: Array<{ role?: string }>; tools: Array<{ name?: string }> };
  t.equal(sent.input[0].role, 'developer', 'the system prompt arrives as a developer message');
  t.notMatch(run.stderr, /Model metadata for .* not found/, 'Codex found the model in RouterHub\'s catalog');
});

for (const f of CODEX_MODELS) {
  t.test(`${f.family}: Codex runs the shell tool the model calls and sends the output back`, async (t) => {
    const cwd = workspace();
    tc.mock.script(
      { parts: [{ type: 'function_call', name: 'exec_command', arguments: JSON.stringify({ cmd: 'printf routerhub > out.txt && echo written' }) }] },
      { parts: [{ type: 'text', text: 'The file out.txt is written.' }] },
    );
    const run = await runCodex(codexHome(tc.cluster.baseUrl, f.model), tc.key, cwd, ['Write out.txt']);
    exitedOk(t, run);
    t.equal(existsSync(join(cwd, 'out.txt')) && readFileSync(join(cwd, 'out.txt'), 'utf8'), 'routerhub', 'the command ran');
    t.match(run.stdout, /The file out\.txt is written\./);
    t.equal(tc.mock.requests.length, 2);
    t.ok(tc.mock.requests.every((r) => r.family === f.family), `both requests reached the ${f.family} upstream`);
    const second = wireOf(f.family).view(tc.mock.requests[1].body);
    t.match(second.toolResults.join('\n'), /written/, 'the second request carried the command output');
  });

  t.test(`${f.family}: apply_patch edits a file in the workspace`, async (t) => {
    const cwd = workspace();
    writeFileSync(join(cwd, 'hello.txt'), 'hello\n');
    const patch = '*** Begin Patch\n*** Update File: hello.txt\n@@\n-hello\n+hello from routerhub\n*** End Patch\n';
    tc.mock.script(
      { parts: [{ type: 'custom_tool_call', name: 'apply_patch', input: patch }] },
      { parts: [{ type: 'text', text: 'Patched hello.txt.' }] },
    );
    const run = await runCodex(codexHome(tc.cluster.baseUrl, f.model), tc.key, cwd, ['Change the greeting']);
    exitedOk(t, run);
    t.ok(wireOf(f.family).view(tc.mock.requests[0].body).tools.includes('apply_patch'), 'Codex offered apply_patch for a routed model');
    t.equal(readFileSync(join(cwd, 'hello.txt'), 'utf8'), 'hello from routerhub\n');
    t.match(run.stdout, /Patched hello\.txt\./);
    t.match(wireOf(f.family).view(tc.mock.requests[1].body).toolResults.join('\n'), /Success|Updated/i, 'the patch result went back');
  });

  t.test(`${f.family}: reasoning from turn one reaches the upstream unchanged in turn two`, async (t) => {
    const cwd = workspace();
    const home = codexHome(tc.cluster.baseUrl, f.model);
    const thinking = `Considering how to greet (${f.family}).`;
    const signature = `sig-${f.family}-${Date.now()}`;
    tc.mock.script({ parts: [{ type: 'reasoning', text: thinking, signature }, { type: 'text', text: 'Hello there.' }] });
    const first = await runCodex(home, tc.key, cwd, ['Say hello']);
    exitedOk(t, first);
    t.match(first.stdout, /Hello there\./);
    tc.mock.script({ parts: [{ type: 'text', text: 'Hello again.' }] });
    const second = await runCodex(home, tc.key, cwd, ['resume', '--last', 'Once more']);
    exitedOk(t, second);
    t.match(second.stdout, /Hello again\./);
    const sent = JSON.stringify(tc.mock.requests[1].body);
    // What each provider needs back: Anthropic the thinking text and its signature, Gemini the
    // thought signature, OpenAI its encrypted_content, a Chat server the reasoning text it sent.
    if (f.family !== 'openai-chat') t.ok(sent.includes(signature), 'the signature came back');
    if (f.family === 'anthropic' || f.family === 'openai-chat') t.ok(sent.includes(JSON.stringify(thinking).slice(1, -1)), 'the thinking text came back');
    t.ok(sent.includes('Once more'), 'it is the second turn');
  });
}
