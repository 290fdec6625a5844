import path from 'node:path';
import { NotFoundError } from '../../runtime/errors';
import { UploadActionRefusedError } from './upload-errors';
import { publishStoredUpload, type INTAKE_DEFAULTS, type IntakeDeps, type IntakeOptions } from './upload-intake';
import { AWAITING_CONFIRMATION } from './upload-status';
import { auditConfirmation, readWarnings, type UploadWarning } from './upload-warnings';

/**
 * `sts upload confirm ID` and POST /uploads/:id/confirm: an operator lets an upload held by its
 * checks proceed. In one transaction, with the upload row locked as cancel and intake lock it, the
 * upload turns RECEIVING, names who confirmed, and ops_audit gets the confirmation with the
 * warnings it confirmed; so two confirms cannot both publish, and a cancel either comes first
 * (the confirm is then refused) or stops the publishing at its next chunk.
 *
 * Publishing then reads the stored file, as intake would have. If this process dies while
 * publishing, the upload stays RECEIVING like an intake that died: upload the file again with
 * --force (rows already applied count as duplicates).
 */
export interface ConfirmResult {
  uploadId: bigint;
  status: string;
  totalRows: bigint;
  chunkCount: number;
  warnings: UploadWarning[];
}

export async function confirmUpload(
  deps: IntakeDeps,
  uploadId: bigint,
  actor: string,
  opts: { onProgress?: IntakeOptions['onProgress']; tuning?: Partial<typeof INTAKE_DEFAULTS> } = {},
): Promise<ConfirmResult> {
  const { storedPath, warnings } = await deps.db.transaction(async (trx) => {
    const [rows] = (await trx.raw('SELECT status, stored_path FROM upload WHERE id = ? FOR UPDATE', [uploadId.toString()])) as [Array<{ status: string; stored_path: string }>];
    const upload = rows[0];
    if (!upload) throw new NotFoundError('upload', uploadId.toString());
    if (upload.status !== AWAITING_CONFIRMATION) {
      throw new UploadActionRefusedError(uploadId, `it is ${upload.status}, not ${AWAITING_CONFIRMATION}; there is nothing to confirm`, `see its state with: npx sts upload status ${uploadId}`);
    }
    const held = await readWarnings(trx, uploadId);
    await trx('upload').where({ id: uploadId.toString() }).update({ status: 'RECEIVING', confirmed_by: actor.slice(0, 64), confirmed_at: new Date() });
    await auditConfirmation(trx, uploadId, actor, held, 'confirm');
    return { storedPath: upload.stored_path, warnings: held };
  });
  deps.logger.info({ uploadId, actor, warnings: warnings.length }, 'upload confirmed');
  const published = await publishStoredUpload(deps, uploadId, path.join(deps.dataDir, storedPath), opts.onProgress, opts.tuning);
  return { uploadId, status: published.status, totalRows: published.rows, chunkCount: published.chunks, warnings };
}
