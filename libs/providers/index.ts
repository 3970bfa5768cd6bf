// The provider families RouterHub can route to (one line per family).
import { openaiResponses } from './openai-responses';
import type { ProviderAdapter } from './types';

export const adapters: Record<string, ProviderAdapter> = {
  [openaiResponses.family]: openaiResponses,
};

export const FAMILIES: readonly string[] = Object.keys(adapters);
