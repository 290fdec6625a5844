import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { loadConfig } from '../../../runtime/config';
import { ConfigError } from '../../../runtime/errors';
import { createAppContext } from '../../../services/run/app-context';
import { cancelUpload } from '../../../services/uploads/upload-cancel';
import { confirmUpload } from '../../../services/uploads/upload-confirm';
import { intakeUpload } from '../../../services/uploads/upload-intake';
import { followUpload } from '../../../services/uploads/upload-progress';
import { rejectsCsv } from '../../../services/uploads/upload-rejects';
import { AWAITING_CONFIRMATION, listUploads, readUploadStatus, type UploadStatus } from '../../../services/uploads/upload-status';
import { table, toJson } from '../output';

const ACTIONS = ['status', 'rejects', 'cancel', 'confirm', 'list'];

/**
 * `sts upload FILE [--wait] [--force] [--confirm-warnings]`, `sts upload status|rejects|cancel|confirm ID`,
 * `sts upload list`. A file literally named like an action is given as ./status.
 */
export function registerUploadCommands(program: Command): void {
  program
    .command('upload')
    .description('upload a billing-item CSV; or: upload status ID | rejects ID | cancel ID | confirm ID | list')
    .argument('<file|action>', 'CSV file to upload, or one of: status, rejects, cancel, confirm, list')
    .argument('[id]', 'upload id, for status, rejects, cancel and confirm')
    .option('--wait', 'follow ingestion to the end and print the summary')
    .option('--force', 'upload again even if the same bytes were uploaded before (rows then count as duplicates)')
    .option('--confirm-warnings', "confirm the checks' warnings up front (recorded in ops_audit): the upload is not held")
    .option('--out <file>', 'rejects: write the CSV to a file instead of stdout')
    .option('--json', 'machine-readable output')
    .action(async (target: string, id: string | undefined, opts: UploadFlags) => {
      const ctx = createAppContext(loadConfig(), 'sts-upload', { logLevel: 'warn' });
      try {
        if (ACTIONS.includes(target)) await runAction(ctx, target, id, opts);
        else await upload(ctx, target, opts);
      } finally {
        await ctx.close();
      }
    });
}

type UploadFlags = { wait?: boolean; force?: boolean; confirmWarnings?: boolean; out?: string; json?: boolean };

/** Who the CLI acts as, in the upload row and in ops_audit. */
const cliActor = () => `cli:${os.userInfo().username}`;

async function upload(ctx: ReturnType<typeof createAppContext>, file: string, opts: UploadFlags) {
  const stat = await fs.promises.stat(file).catch(() => null);
  if (!stat?.isFile()) throw new ConfigError(`${file} is not a readable file`, 'give the path of a CSV file');
  const result = await intakeUpload(
    { db: ctx.db, kafka: ctx.kafka, codec: ctx.codec, registry: ctx.registry, ids: await ctx.ids(), dataDir: ctx.config.dataDir, logger: ctx.logger },
    fs.createReadStream(file),
    { fileName: path.basename(file), actor: cliActor(), force: opts.force, checks: ctx.config.uploadChecks, confirmWarnings: opts.confirmWarnings },
  );
  if (!opts.json) {
    process.stderr.write(
      result.existing
        ? `the same file (sha256 ${result.sha256.slice(0, 12)}…) was uploaded before as ${result.uploadId}; nothing new was written (use --force to load it again)\n`
        : result.status === AWAITING_CONFIRMATION
          ? `upload ${result.uploadId}: ${result.totalRows} rows held, nothing booked: ${result.warnings.length} warning(s) to confirm\n`
          : `upload ${result.uploadId}: ${result.totalRows} rows in ${result.chunkCount} chunks queued\n`,
    );
  }
  const status = opts.wait && result.status !== AWAITING_CONFIRMATION
    ? await followUpload(ctx.db, result.uploadId, { tty: !opts.json && process.stderr.isTTY === true })
    : await readUploadStatus(ctx.db, result.uploadId);
  print({ ...status, existing: result.existing }, opts.json);
}

async function runAction(ctx: ReturnType<typeof createAppContext>, action: string, id: string | undefined, opts: UploadFlags) {
  if (action === 'list') {
    const all = await listUploads(ctx.db);
    if (opts.json) return void process.stdout.write(`${toJson(all)}\n`);
    return void process.stdout.write(`${table(all.map(summaryRow), ['id', 'file', 'status', 'rows', 'accepted', 'rejected', 'duplicates', 'created'])}\n`);
  }
  if (!id || !/^\d{1,19}$/.test(id)) throw new ConfigError(`upload ${action} needs an upload id`, `npx sts upload ${action} <id>; see npx sts upload list`);
  const uploadId = BigInt(id);
  if (action === 'status') return print(await readUploadStatus(ctx.db, uploadId), opts.json);
  if (action === 'confirm') {
    const r = await confirmUpload(
      { db: ctx.db, kafka: ctx.kafka, codec: ctx.codec, registry: ctx.registry, ids: await ctx.ids(), dataDir: ctx.config.dataDir, logger: ctx.logger },
      uploadId,
      cliActor(),
    );
    if (!opts.json) process.stderr.write(`upload ${id} confirmed (${r.warnings.length} warning(s), recorded in ops_audit): ${r.totalRows} rows in ${r.chunkCount} chunks queued\n`);
    const status = opts.wait ? await followUpload(ctx.db, uploadId, { tty: !opts.json && process.stderr.isTTY === true }) : await readUploadStatus(ctx.db, uploadId);
    return print(status, opts.json);
  }
  if (action === 'cancel') {
    const r = await cancelUpload(ctx.db, uploadId);
    if (opts.json) return void process.stdout.write(`${toJson(r)}\n`);
    return void process.stdout.write(
      r.cancelledChunks > 0 || r.status === 'CANCELLED'
        ? `upload ${id} cancelled: ${r.cancelledChunks} chunk(s) will not be applied; chunks already committed stay in the ledger\n`
        : `upload ${id} is ${r.status}; nothing to cancel\n`,
    );
  }
  const out: NodeJS.WritableStream = opts.out ? fs.createWriteStream(opts.out) : process.stdout;
  await pipeline(Readable.from(rejectsCsv(ctx.db, uploadId)), out, { end: opts.out !== undefined });
}

function print(status: UploadStatus & { existing?: boolean }, json?: boolean) {
  if (json) return void process.stdout.write(`${toJson(status)}\n`);
  process.stdout.write(
    [
      `upload ${status.id} (${status.fileName})  ${status.status}`,
      `  rows        ${status.totalRows} total: ${status.acceptedRows} accepted, ${status.rejectedRows} rejected, ${status.duplicateRows} duplicate${status.cancelledRows > 0n ? `, ${status.cancelledRows} cancelled` : ''}`,
      `  chunks      ${status.doneChunks}/${status.chunkCount} committed`,
      status.rejectedRows > 0n ? `  rejects     npx sts upload rejects ${status.id} > rejects.csv` : '',
      ...warningLines(status),
    ]
      .filter(Boolean)
      .join('\n') + '\n',
  );
}

/** The checks' warnings, one a line, and what to do about a held upload. */
function warningLines(status: UploadStatus): string[] {
  if (status.warnings.length === 0) return [];
  const lines = [`  warnings    ${status.warnings.length}${status.confirmedBy ? `, confirmed by ${status.confirmedBy}` : ''}`, ...status.warnings.map((w) => `    ${w.code}  ${w.message}`)];
  if (status.status === AWAITING_CONFIRMATION) {
    lines.push(`  held        nothing is booked until: npx sts upload confirm ${status.id}   (or: npx sts upload cancel ${status.id})`);
  }
  return lines;
}

const summaryRow = (s: UploadStatus) => ({
  id: s.id.toString(),
  file: s.fileName,
  status: s.status,
  rows: s.totalRows.toString(),
  accepted: s.acceptedRows.toString(),
  rejected: s.rejectedRows.toString(),
  duplicates: s.duplicateRows.toString(),
  created: s.createdAt.toISOString(),
});
