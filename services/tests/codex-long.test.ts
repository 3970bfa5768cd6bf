// Codex CLI with a long context, through every provider family: a 2 MiB AGENTS.md (Codex sends the
// project instructions in every request) makes each request ~2 MiB, twice NATS's default
// max_payload, as a long session near a large context window does.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { familyCatalog, startTestCluster, type TestCluster } from '../../libs/testing/cluster';
import { CODEX_MODELS, codexHome, runCodex, workspace } from '../../libs/testing/codex';

const AGENTS_BYTES = 2 * 1024 * 1024;

let tc: TestCluster;

t.before(async () => {
  tc = await startTestCluster((url) => familyCatalog(url, CODEX_MODELS, { context_window: 2_000_000 }));
});
t.teardown(() => tc.stop());
t.beforeEach(() => tc.mock.reset());

/** Project rules as a team writes them, repeated to 2 MiB, with a marker at the very end. */
function longAgentsMd(): string {
  const rule = (i: number) => `- Rule ${i}: keep functions short, name things for what they are in the domain, and test against real processes.\n`;
  let doc = '# Project instructions\n\n';
  for (let i = 0; doc.length < AGENTS_BYTES - 100; i++) doc += rule(i);
  return `${doc}\nThe last rule: answer with LONG-CONTEXT-OK.\n`;
}

for (const f of CODEX_MODELS) {
  t.test(`${f.family}: Codex completes a turn whose request is over 2 MiB`, async (t) => {
    const cwd = workspace();
    writeFileSync(join(cwd, 'AGENTS.md'), longAgentsMd());
    const home = codexHome(tc.cluster.baseUrl, f.model);
    // Codex reads at most 32 KiB of project docs unless told otherwise (a top-level key: before the tables).
    const config = join(home, 'config.toml');
    writeFileSync(config, `project_doc_max_bytes = ${4 * 1024 * 1024}\n${readFileSync(config, 'utf8')}`);
    tc.mock.script({ parts: [{ type: 'text', text: 'LONG-CONTEXT-OK, all rules read.' }] });
    const run = await runCodex(home, tc.key, cwd, ['Summarise the project rules.'], 120_000);
    t.equal(run.code, 0, run.code === 0 ? 'codex exited 0' : `codex exited ${run.code}: ${run.stderr.slice(-2000)}`);
    t.match(run.stdout, /LONG-CONTEXT-OK, all rules read\./);
    t.equal(tc.mock.requests.length, 1, 'one upstream request');
    const sent = JSON.stringify(tc.mock.requests[0]?.body ?? {});
    t.ok(sent.length > AGENTS_BYTES, `the ${f.family} upstream got the whole history (${sent.length} bytes)`);
    t.ok(sent.includes('answer with LONG-CONTEXT-OK'), 'the end of AGENTS.md arrived');
  });
}
