// Test support: Codex CLI itself (the pinned @openai/codex dev dependency) against a RouterHub, with
// a temporary CODEX_HOME holding the config a RouterHub user would write.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { everyFamily } from './cluster';
import { tempDir } from './temp';

const CODEX = join(__dirname, '..', '..', '..', 'node_modules', '.bin', 'codex');

/** A CODEX_HOME whose config.toml points Codex at RouterHub, as the start banner prints it. */
/** The models the Codex tests run, one per provider family (Codex reads their names' prefixes as providers do). */
export const CODEX_MODELS = everyFamily({ 'openai-responses': 'openai/test-codex', anthropic: 'anthropic/claude-test', gemini: 'google/gemini-test', 'openai-chat': 'compat/chat-test' });

export function codexHome(baseUrl: string, model: string): string {
  const home = tempDir('rh-codex-home-');
  writeFileSync(join(home, 'config.toml'), `model = "${model}"
model_provider = "routerhub"

[model_providers.routerhub]
name = "RouterHub"
base_url = "${baseUrl}/v1"
env_key = "ROUTERHUB_API_KEY"
wire_api = "responses"
model_catalog_url = "${baseUrl}/v1/codex/models"
# Fail fast in tests: a retry would consume the next scripted upstream turn.
request_max_retries = 0
stream_max_retries = 0
`);
  return home;
}

export interface CodexRun { code: number | null; stdout: string; stderr: string }

/** `codex exec <args…>` in `cwd` (asynchronously: the mock upstream lives in this process). */
export function runCodex(home: string, key: string, cwd: string, args: string[], timeoutMs = 90_000): Promise<CodexRun> {
  return new Promise((resolve) => {
    const child = spawn(CODEX, ['exec', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', ...args], {
      cwd,
      env: { ...process.env, CODEX_HOME: home, ROUTERHUB_API_KEY: key, RUST_LOG: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function workspace(): string {
  return tempDir('rh-codex-work-');
}
