import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBankSimulator } from '../infra/bank-simulator/server';
import type { Knex } from '../runtime/db/knex';
import type { SnowflakeGenerator } from '../runtime/ids/snowflake';
import type { Logger } from '../runtime/logger';
import type { OutboxWriter } from '../runtime/outbox/outbox-writer';
import { ingestBankReports } from '../settlement/bank-file/bank-status-ingest';
import { sendBankFiles } from '../settlement/bank-file/bank-sender';

/**
 * The bank-file rail of the payments benchmark: `count` PENDING bank-file payouts, each with a
 * registered payee, paid from release to PAID: the sender writes, verifies, submits and transmits
 * the files, the bank simulator (in this process, its journal fsync'd) executes them and reports,
 * and status ingestion applies the reports. Timed from the sender's start until the last payout
 * is PAID; the run fails unless every payout is PAID once and the bank executed each once.
 */
export interface BankRailRecord {
  payouts: number;
  files: number;
  seconds: number;
  payoutsPerSecond: number;
}

export async function measureBankRail(
  deps: { db: Knex; ids: SnowflakeGenerator; outbox: OutboxWriter; logger: Logger; resultsTopic: string },
  idBase: bigint,
  sellerBase: bigint,
  count: number,
): Promise<BankRailRecord> {
  const { db } = deps;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sts-bench-bank-'));
  const dirs = { outboundDir: path.join(root, 'outbound'), inboundDir: path.join(root, 'inbound') };
  const bank = await createBankSimulator({ ...dirs, journalDir: path.join(root, 'bank'), pollMs: 50 });
  await bank.listen(0, '127.0.0.1');
  try {
    // Payees registered long ago, one per seller, as the close would find them; then the payouts
    // the close would have made, PENDING on the bank rail (MariaDB's sequence engine numbers them).
    // bigint literals built here, never input: no id passes through a string or a double.
    const sellers = Math.min(count, 20_000);
    await db.raw(
      `INSERT INTO payee_account (shop_user_id, currency, version, holder_name, account, account_scheme, bank_id, bank_scheme, country, changed_by, created_at)
       SELECT ${sellerBase} + seq, 'SGD', 1, CONCAT('Seller ', ${sellerBase} + seq), LPAD(seq, 12, '0'), 'OTHER', 'DBSSSGSG', 'BIC', 'SG', 'cli:bench', NOW(3) - INTERVAL 100 DAY
         FROM seq_0_to_${sellers - 1}`,
    );
    // One payout per seller and cycle, as closes make them: a seller's later payouts are later cycles.
    await db.raw(
      `INSERT INTO payout (id, cycle_id, region, shop_user_id, currency, amount_minor, status, rail, payee_account_id)
       SELECT ${idBase} + s.seq, 20261116 + s.seq DIV ${sellers}, 'SG', a.shop_user_id, 'SGD', 1000 + s.seq % 99991, 'PENDING', 'bank-file', a.id
         FROM seq_0_to_${count - 1} s JOIN payee_account a ON a.shop_user_id = ${sellerBase} + s.seq % ${sellers} AND a.currency = 'SGD'`,
    );
    const started = Date.now();
    const sent = await sendBankFiles({ db, dataDir: root, ...dirs, environment: 'BENCH', logger: deps.logger });
    for (;;) {
      await ingestBankReports({ ...deps, inboundDir: dirs.inboundDir });
      const [[row]] = (await db.raw(`SELECT COUNT(*) AS n FROM payout WHERE rail = 'bank-file' AND status = 'PAID' AND id >= ?`, [idBase.toString()])) as [[{ n: number }]];
      if (Number(row.n) >= count) break;
      if (Date.now() - started > 600_000) throw new Error(`bank rail: ${row.n} of ${count} PAID after 10 minutes`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (Date.now() - started) / 1000;
    if (bank.journal.maxExecutionsPerEndToEndId > 1 || bank.journal.executionCount !== count)
      throw new Error(`bank rail not exactly once: ${bank.journal.executionCount} executions for ${count} payouts, at most ${bank.journal.maxExecutionsPerEndToEndId} per id`);
    return { payouts: count, files: sent.transmitted.length, seconds: Math.round(seconds * 10) / 10, payoutsPerSecond: Math.round(count / seconds) };
  } finally {
    await bank.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
