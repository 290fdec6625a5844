import { loadConfig } from '../runtime/config';
import { stackStatus } from '../infra/stack';
import { pipelineUp } from '../services/run/pipeline-up';

/**
 * Tests need the real stack. `npm test` runs `sts up` first; this makes a bare `npx jest` work too,
 * and fails fast with the stack's own error (port taken, Maven offline…) instead of test timeouts.
 */
export default async function globalSetup(): Promise<void> {
  const config = loadConfig();
  const status = await stackStatus(config);
  if (status.every((c) => c.state === 'up')) return;
  await pipelineUp(config, (line) => process.stderr.write(`${line}\n`));
}
