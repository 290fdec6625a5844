import cliProgress from 'cli-progress';
import type { Knex } from 'knex';
import { AWAITING_CONFIRMATION, FINAL_UPLOAD_STATES, readUploadStatus, type UploadStatus } from './upload-status';

/**
 * Follows an upload until it is final, drawing a bar with rows/s and an ETA on a terminal (stderr,
 * so stdout stays clean for --json). When nothing is committed for `stallMs`, says so once:
 * usually no `sts run upload-ingestion` is running. An upload held for confirmation returns at
 * once: nothing moves until an operator confirms it.
 */
export async function followUpload(
  db: Knex,
  uploadId: bigint,
  opts: { tty: boolean; pollMs?: number; stallMs?: number; write?: (line: string) => void } = { tty: false },
): Promise<UploadStatus> {
  const pollMs = opts.pollMs ?? 500;
  const stallMs = opts.stallMs ?? 30_000;
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const bar = opts.tty
    ? new cliProgress.SingleBar(
        { format: 'ingesting [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}', etaBuffer: 20, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let status = await readUploadStatus(db, uploadId);
  bar?.start(Number(status.totalRows), Number(status.rowsDone), { rate: 0 });
  let lastDone = status.rowsDone;
  let lastChange = Date.now();
  let lastTick = Date.now();
  let warned = false;
  let lastLine = 0;
  try {
    while (!FINAL_UPLOAD_STATES.has(status.status) && status.status !== AWAITING_CONFIRMATION) {
      await new Promise((r) => setTimeout(r, pollMs));
      status = await readUploadStatus(db, uploadId);
      const now = Date.now();
      // Row counts are bigint in the ledger; a progress display is the one place they become numbers.
      const rate = Math.round((Number(status.rowsDone - lastDone) * 1000) / Math.max(1, now - lastTick));
      if (status.rowsDone !== lastDone) lastChange = now;
      lastDone = status.rowsDone;
      lastTick = now;
      if (bar) {
        bar.setTotal(Number(status.totalRows));
        bar.update(Number(status.rowsDone), { rate });
      } else if (now - lastLine >= 5000) {
        lastLine = now;
        write(`upload ${uploadId}: ${status.rowsDone}/${status.totalRows} rows, ${status.doneChunks}/${status.chunkCount} chunks, ${rate} rows/s`);
      }
      if (!warned && now - lastChange > stallMs) {
        warned = true;
        write(`no chunk of upload ${uploadId} committed for ${Math.round(stallMs / 1000)} s: is \`npx sts run upload-ingestion\` (or \`run all\`) running?`);
      }
    }
  } finally {
    bar?.stop();
  }
  return status;
}
