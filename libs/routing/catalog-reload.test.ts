import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { FAMILIES } from '../providers/index';
import { tempDir } from '../testing/temp';
import type { ModelCatalog } from './catalog';
import { reloadCatalogOnChange } from './catalog-reload';

const doc = (ids: string[]) => JSON.stringify({ models: ids.map((id) => ({ id, deployments: [{ provider: 'openai-responses', base_url: 'http://127.0.0.1:9/v1', model: 'm' }] })) });

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

t.test('SIGHUP reloads the catalog; a file that does not load keeps the one in use', async (t) => {
  const path = join(tempDir('rh-reload-'), 'models.json');
  writeFileSync(path, doc(['a/one']));
  const applied: ModelCatalog[] = [];
  const logs: string[] = [];
  const stop = reloadCatalogOnChange({ path, families: FAMILIES, apply: (c) => applied.push(c), log: (m) => logs.push(m), pollMs: 0 });
  t.teardown(stop);

  writeFileSync(path, doc(['a/one', 'a/two']));
  process.kill(process.pid, 'SIGHUP');
  t.ok(await until(() => applied.length === 1, 2000), 'applied on SIGHUP');
  t.same(applied[0].models.map((m) => m.id), ['a/one', 'a/two']);

  writeFileSync(path, '{"models": [{"id": "broken"}]}');
  process.kill(process.pid, 'SIGHUP');
  t.ok(await until(() => logs.some((l) => /not reloaded \(SIGHUP\), the previous one stays in use: model catalog .* is invalid/.test(l)), 2000), logs.at(-1) ?? 'nothing logged');
  t.equal(applied.length, 1, 'the broken file was not applied');
});

t.test('with ROUTERHUB_MODELS_POLL_MS, a change of the file is picked up without a signal', async (t) => {
  const path = join(tempDir('rh-reload-'), 'models.json');
  writeFileSync(path, doc(['a/one']));
  const applied: ModelCatalog[] = [];
  const stop = reloadCatalogOnChange({ path, families: FAMILIES, apply: (c) => applied.push(c), log: () => undefined, pollMs: 50 });
  t.teardown(stop);
  await new Promise((r) => setTimeout(r, 120));
  writeFileSync(path, doc(['a/three']));
  t.ok(await until(() => applied.length > 0, 3000), 'applied after the change');
  t.same(applied.at(-1)?.models.map((m) => m.id), ['a/three']);
});
