// Every provider family's mock wire format, for the mock upstream (one line per family).
import { openaiResponsesWire } from './openai-responses';
import type { MockWire } from './wire';

export const mockWires: MockWire[] = [openaiResponsesWire];
