import { redact } from './secrets';

/** One-line logs with the process's role, to stderr (stdout belongs to the launcher's banner); keys masked. */
export function logger(role: string): (msg: string) => void {
  return (msg) => process.stderr.write(`${new Date().toISOString()} [${role}] ${redact(msg)}\n`);
}
