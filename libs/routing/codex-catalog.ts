// The model catalog Codex loads through `model_catalog_url` (CODEX-CONTRACT.md section 7, checked
// against Codex 0.169): without an entry for a slug like `anthropic/claude-sonnet-4-5`, Codex uses
// fallback metadata and offers no `apply_patch`. One entry per model of RouterHub's own catalog.
import type { ModelCatalog, ModelEntry } from './catalog';

const EFFORTS = [
  { effort: 'low', description: 'Fast responses with lighter reasoning' },
  { effort: 'medium', description: 'Balances speed and reasoning depth' },
  { effort: 'high', description: 'Greater reasoning depth for complex problems' },
];

export interface CodexModelInfo {
  slug: string;
  display_name: string;
  description: string;
  default_reasoning_level: string | null;
  supported_reasoning_levels: typeof EFFORTS;
  shell_type: 'shell_command';
  visibility: 'list';
  supported_in_api: true;
  priority: number;
  support_verbosity: false;
  /** `freeform` is what makes Codex offer apply_patch as a custom (grammar) tool. */
  apply_patch_tool_type: 'freeform';
  truncation_policy: { mode: 'tokens'; limit: number };
  supports_parallel_tool_calls: true;
  context_window: number;
  experimental_supported_tools: string[];
  input_modalities: string[];
  base_instructions: string;
}

export function codexModelInfo(model: ModelEntry, priority: number, instructions: string): CodexModelInfo {
  const reasoning = model.reasoning === true;
  return {
    slug: model.id,
    display_name: model.display_name ?? model.id,
    description: `${model.id} through RouterHub (${[...new Set(model.deployments.map((d) => d.provider))].join(', ')})`,
    default_reasoning_level: reasoning ? 'medium' : null,
    supported_reasoning_levels: reasoning ? EFFORTS : [],
    shell_type: 'shell_command',
    visibility: 'list',
    supported_in_api: true,
    priority,
    support_verbosity: false,
    apply_patch_tool_type: 'freeform',
    truncation_policy: { mode: 'tokens', limit: 10_000 },
    supports_parallel_tool_calls: true,
    context_window: model.context_window ?? 128_000,
    experimental_supported_tools: [],
    input_modalities: ['text', 'image'],
    base_instructions: instructions,
  };
}

export function codexCatalog(catalog: ModelCatalog, instructions: string): { models: CodexModelInfo[] } {
  return { models: catalog.models.map((m, i) => codexModelInfo(m, i + 1, instructions)) };
}
