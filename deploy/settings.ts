// `npm run settings`: writes the README's settings table from libs/config/settings.ts (between its
// two markers). libs/config/settings.test.ts fails when they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { settingsTable } from '../libs/config/settings';
import { paths } from './cluster';

export const BEGIN = '<!-- settings: generated from libs/config/settings.ts by `npm run settings` -->';
export const END = '<!-- /settings -->';

/** The README with its settings table replaced by the one SETTINGS makes. */
export function withSettingsTable(readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no settings markers (${BEGIN} … ${END})`);
  return `${readme.slice(0, start + BEGIN.length)}\n${settingsTable()}\n${readme.slice(end)}`;
}

if (require.main === module) {
  const file = join(paths.ROOT, 'README.md');
  writeFileSync(file, withSettingsTable(readFileSync(file, 'utf8')));
  process.stdout.write('README.md: settings table written\n');
}
