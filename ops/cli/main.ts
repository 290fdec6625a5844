import { Command } from 'commander';
import { registerBankCommands } from './commands/bank';
import { registerChaosCommand } from './commands/chaos';
import { registerDemoCommand } from './commands/demo';
import { registerDlqCommands } from './commands/dlq';
import { registerLagCommand } from './commands/lag';
import { registerPayoutFileCommands } from './commands/payout-file';
import { registerReconCommands } from './commands/recon';
import { registerRuleCommands } from './commands/rules';
import { registerOrderCommands } from './commands/orders';
import { registerPayeeCommands } from './commands/payees';
import { registerPayoutCommands } from './commands/payouts';
import { registerRunCommand } from './commands/run';
import { registerSettleCommands } from './commands/settle';
import { registerStackCommands } from './commands/stack';
import { registerTopologyCommand } from './commands/topology';
import { registerTraceCommands } from './commands/trace';
import { registerUploadCommands } from './commands/upload';
import { reportError } from './output';

/**
 * `sts`: the operator's command line. Every command takes --json for machine-readable output.
 * Builds the program without parsing anything, so test/docs can hold the docs against it.
 */
export function buildProgram(): Command {
  const program = new Command();
  program.name('sts').description('Settlement pipeline on Kafka: operate the stack, processors, uploads and payouts.').showHelpAfterError();

  registerStackCommands(program);
  registerDemoCommand(program);
  registerChaosCommand(program);
  registerTopologyCommand(program);
  registerRuleCommands(program);
  registerOrderCommands(program);
  registerRunCommand(program);
  registerSettleCommands(program);
  registerUploadCommands(program);
  registerPayeeCommands(program);
  registerPayoutCommands(program);
  registerPayoutFileCommands(program);
  registerBankCommands(program);
  registerReconCommands(program);
  registerLagCommand(program);
  registerDlqCommands(program);
  registerTraceCommands(program);

  return program;
}

/** Runs the CLI and exits the process when the command is done (bin/sts.js). */
export function runCli(argv: string[]): void {
  buildProgram().parseAsync(argv).then(
    () => {
      // Kafka and MySQL clients can keep sockets half-open for a while; the CLI is done, so exit.
      setImmediate(() => process.exit(process.exitCode ?? 0));
    },
    (err: unknown) => {
      const code = reportError(err, argv.includes('--json'));
      process.exit(code);
    },
  );
}
