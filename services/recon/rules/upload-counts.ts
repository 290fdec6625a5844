import { intList } from '../../../runtime/db/int-list';
import { idFloorAt, idsFromEntities, rows } from '../recon-sql';
import type { Finding, ReconRule } from '../recon-types';

/**
 * Rule 7 (docs/DESIGN.md, lesson 4 and "Guarantees": bad input loses nothing): a COMPLETED upload
 * accounts for every row.
 *   - accepted + rejected + duplicate = total_rows;
 *   - its chunks are all DONE, as many as chunk_count, their row_count sums to total_rows, and
 *     their accepted/rejected/duplicate sums equal the upload's;
 *   - upload_reject holds one row per rejected row (what `sts upload rejects` gives ops).
 * Scope: uploads minted in the recent window (a primary-key range; the id is a snowflake) plus
 * those with open findings. Chunks and rejects are aggregated by their primary keys' prefix.
 */
export const RULE = 'upload-counts';

interface UploadRow {
  id: string;
  file_name: string;
  total: string;
  accepted: string;
  rejected: string;
  duplicate: string;
  chunk_count: number;
}

interface ChunkSums {
  upload_id: string;
  chunks: string;
  undone: string;
  row_total: string;
  accepted: string;
  rejected: string;
  duplicate: string;
}

export const uploadCounts: ReconRule = {
  name: RULE,
  description:
    "a COMPLETED upload's counts add up: accepted + rejected + duplicate = total, equal to its chunks' sums, and one reject row per rejected row",
  async check(ctx) {
    const floor = idFloorAt(new Date(ctx.now.getTime() - ctx.options.recentWindowMs));
    const reopen = idsFromEntities(ctx.open.keys(), 'upload/');
    const uploads = await rows<UploadRow>(
      ctx.db,
      `SELECT CAST(id AS CHAR) AS id, file_name, CAST(total_rows AS CHAR) AS total, CAST(accepted_rows AS CHAR) AS accepted,
              CAST(rejected_rows AS CHAR) AS rejected, CAST(duplicate_rows AS CHAR) AS duplicate, chunk_count
         FROM upload WHERE status = 'COMPLETED' AND (id >= ?${reopen.length ? ` OR id IN (${intList(reopen)})` : ''})`,
      [floor],
    );
    const findings: Finding[] = [];
    for (let i = 0; i < uploads.length; i += 1000) {
      const page = uploads.slice(i, i + 1000);
      const list = intList(page.map((u) => BigInt(u.id)));
      const chunks = await rows<ChunkSums>(
        ctx.db,
        `SELECT CAST(upload_id AS CHAR) AS upload_id, COUNT(*) AS chunks, SUM(status <> 'DONE') AS undone, CAST(SUM(row_count) AS CHAR) AS row_total,
                CAST(SUM(accepted_rows) AS CHAR) AS accepted, CAST(SUM(rejected_rows) AS CHAR) AS rejected, CAST(SUM(duplicate_rows) AS CHAR) AS duplicate
           FROM upload_chunk WHERE upload_id IN (${list}) GROUP BY upload_id`,
      );
      const rejects = await rows<{ upload_id: string; n: string }>(
        ctx.db,
        `SELECT CAST(upload_id AS CHAR) AS upload_id, COUNT(*) AS n FROM upload_reject WHERE upload_id IN (${list}) GROUP BY upload_id`,
      );
      const chunkBy = new Map(chunks.map((c) => [c.upload_id, c]));
      const rejectBy = new Map(rejects.map((r) => [r.upload_id, BigInt(r.n)]));
      for (const u of page) {
        const finding = judge(u, chunkBy.get(u.id), rejectBy.get(u.id) ?? 0n);
        if (finding) findings.push(finding);
      }
    }
    return findings;
  },
};

function judge(u: UploadRow, c: ChunkSums | undefined, rejectRows: bigint): Finding | undefined {
  const [total, accepted, rejected, duplicate] = [u.total, u.accepted, u.rejected, u.duplicate].map(
    BigInt,
  ) as [bigint, bigint, bigint, bigint];
  const losses: string[] = [];
  if (accepted + rejected + duplicate !== total)
    losses.push(
      `accepted ${accepted} + rejected ${rejected} + duplicate ${duplicate} = ${accepted + rejected + duplicate}, not total ${total}`,
    );
  const chunks = BigInt(c?.chunks ?? 0);
  if (chunks !== BigInt(u.chunk_count))
    losses.push(`${chunks} chunk rows for chunk_count ${u.chunk_count}`);
  if (BigInt(c?.undone ?? 0) > 0n) losses.push(`${c?.undone} chunk(s) not DONE`);
  if (BigInt(c?.row_total ?? 0) !== total)
    losses.push(`chunks hold ${c?.row_total ?? 0} rows, not ${total}`);
  for (const [name, mine, theirs] of [
    ['accepted', accepted, c?.accepted],
    ['rejected', rejected, c?.rejected],
    ['duplicate', duplicate, c?.duplicate],
  ] as const) {
    if (BigInt(theirs ?? 0) !== mine)
      losses.push(`${name} ${mine} but the chunks say ${theirs ?? 0}`);
  }
  const reportOnly =
    rejectRows !== rejected ? `${rejectRows} reject rows for rejected_rows ${rejected}` : undefined;
  if (losses.length === 0 && !reportOnly) return undefined;
  return {
    rule: RULE,
    // Counts that do not add up may hide a lost row (money); a short reject list only hurts the report.
    severity: losses.length > 0 ? 'CRITICAL' : 'WARNING',
    entity: `upload/${u.id}`,
    detail: `upload ${u.id} (${u.file_name.slice(0, 80)}): ${[...losses, ...(reportOnly ? [reportOnly] : [])].join('; ')}`,
  };
}
