import path from 'node:path';
import { simulatorComponent } from '../simulator-component';

/**
 * The bank simulator as a part of the local stack (infra/simulator-component.ts: adopt, start
 * detached, stop, status). It listens where STS_BANK_URL points, takes files from
 * STS_BANK_OUTBOUND_DIR, writes reports to STS_BANK_INBOUND_DIR and keeps its journal, log and pid
 * file under <STS_DATA_DIR>/bank/. A non-loopback STS_BANK_URL names a simulator run elsewhere: it
 * is reported, never started.
 */

const bank = simulatorComponent({
  name: 'bank-simulator',
  label: 'bank simulator',
  dir: 'bank',
  urlVariable: 'STS_BANK_URL',
  url: (config) => config.bankUrl,
  main: path.join(__dirname, 'main.ts'),
  args: (config) => ['--outbound', config.bankOutboundDir, '--inbound', config.bankInboundDir],
  remote: {
    label: 'bank simulator',
    fix: 'start that simulator, or unset STS_BANK_URL to use the local one',
  },
});

export const bankPaths = bank.paths;
export const bankUp = bank.up;
export const bankDown = bank.down;
export const bankStatus = bank.status;
