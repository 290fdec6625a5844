import { loadConfig } from '../runtime/config';
import { stackStatus, stackUp } from '../infra/stack';

/**
 * Tests need the real stack. `npm test` runs `sts up` first; this makes a bare `npx jest` work too,
 * and fails fast with the stack's own error (port taken, Maven offline…) instead of test timeouts.
 */
export default async function globalSetup(): Promise<void> {
  const config = loadConfig();
  const status = await stackStatus(config);
  if (status.every((c) => c.state === 'up')) return;
  await stackUp(config, (line) => process.stderr.write(`${line}\n`));
}
