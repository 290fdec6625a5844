import type { Knex } from 'knex';
import { NotFoundError } from '../../runtime/errors';
import { AWAITING_CONFIRMATION } from './upload-status';

/**
 * Cancels the chunks of an upload that have not been applied yet. Chunks already committed stay:
 * their billing items are real and may already be in a balance. A chunk being applied right now
 * holds its checkpoint row, so the cancel waits for it and then leaves it DONE. An upload held for
 * confirmation has no chunk yet: cancelling it books nothing, and a later confirm is refused.
 *
 * The upload row is locked first, like intake does, so no chunk is recorded after the cancel. A
 * chunk transaction locks its checkpoint and then the upload row, the opposite order, so InnoDB
 * may pick one of the two as a deadlock victim; both sides retry.
 */
export interface CancelResult {
  uploadId: bigint;
  status: string;
  cancelledChunks: number;
}

export async function cancelUpload(db: Knex, uploadId: bigint, attempts = 5): Promise<CancelResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (trx) => {
        const [rows] = (await trx.raw('SELECT status FROM upload WHERE id = ? FOR UPDATE', [uploadId.toString()])) as [Array<{ status: string }>];
        const status = rows[0]?.status;
        if (status === undefined) throw new NotFoundError('upload', uploadId.toString());
        if (status !== 'RECEIVING' && status !== 'PROCESSING' && status !== AWAITING_CONFIRMATION) return { uploadId, status, cancelledChunks: 0 };
        const cancelled = await trx('upload_chunk').where({ upload_id: uploadId.toString(), status: 'PENDING' }).update({ status: 'CANCELLED' });
        await trx('upload').where({ id: uploadId.toString() }).update({ status: 'CANCELLED', finished_at: new Date() });
        return { uploadId, status: 'CANCELLED', cancelledChunks: cancelled };
      });
    } catch (err) {
      const deadlock = (err as { errno?: number }).errno === 1213;
      if (!deadlock || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}
