// The deterministic behaviour of the demo model (and of any mock upstream with nothing scripted):
// a tiny agent, enough for `npm start` + Codex to show a real tool loop with no provider keys.
//  - a prompt with a line `run: <command>` → a call to Codex's shell tool (`exec_command`);
//  - a last turn of tool results → a text answer that quotes the output;
//  - anything else → a text answer that says what it is and echoes the prompt.
import type { MockTurn } from './script';
import type { MockRequestView } from './wire';

const SHELL_TOOLS = ['exec_command', 'shell', 'local_shell', 'bash'];

export function demoTurn(view: MockRequestView): MockTurn {
  if (view.toolResults.length > 0) {
    const output = view.toolResults.join('\n').slice(0, 600);
    return { parts: [{ type: 'text', text: `The command ran. Its output:\n${output}` }] };
  }
  const run = /^\s*run:\s*(.+)$/im.exec(view.lastUserText);
  const shell = SHELL_TOOLS.find((t) => view.tools.includes(t));
  if (run && shell) {
    const cmd = run[1].trim();
    const args = shell === 'exec_command' ? { cmd } : { command: ['bash', '-lc', cmd] };
    return { parts: [{ type: 'function_call', name: shell, arguments: JSON.stringify(args) }] };
  }
  const prompt = view.lastUserText.trim().slice(0, 400);
  return {
    parts: [{
      type: 'text',
      text: `Hello from the RouterHub demo model, a local mock upstream. You said: "${prompt}". ` +
        'Add a real provider to the model catalog (ROUTERHUB_MODELS) to talk to a real model. ' +
        'Write a line "run: <command>" to see a tool call go through Codex.',
    }],
  };
}
