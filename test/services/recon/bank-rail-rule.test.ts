import { OutboxWriter } from '../../../runtime/outbox/outbox-writer';
import { ingestBankReports } from '../../../settlement/bank-file/bank-status-ingest';
import { sendBankFiles } from '../../../settlement/bank-file/bank-sender';
import { bankRail } from '../../../services/recon/rules/bank-rail';
import { RECON_DEFAULTS } from '../../../services/recon/recon-types';
import type { GatewayReportReader } from '../../../services/recon/gateway-report-reader';
import { useTestResources } from '../../fixtures/resources';
import { uploadSetup } from '../../fixtures/upload-harness';
import { bankCycle, bankFolders, bankLogger, writeCamt054, writePain002 } from '../../fixtures/bank-rail';

/**
 * Reconciliation of the bank rail by results: a debit the bank booked that no PAID payout of the
 * same amount explains, a payout that travelled both rails, and what a bank report said that
 * could not be applied are findings; a clean rail has none.
 */
const r = useTestResources();

test('debits match PAID bank-file payouts; a debit for a FAILED payout or another amount, a payout on both rails and report issues are findings', async () => {
  const s = await uploadSetup(r, 1);
  await bankCycle(r, s, 'SG', 'SG=bank-file');
  await bankCycle(r, s, 'MY', '', [652024209997830001n]);
  const folders = bankFolders(r);
  const [msgId] = (await sendBankFiles({ db: s.db, dataDir: s.dataDir, outboundDir: folders.outboundDir, environment: 'TEST', logger: bankLogger })).transmitted;
  const payouts = (await s.db('payout').where({ bank_msg_id: msgId }).orderBy('id').select(s.db.raw('CAST(id AS CHAR) AS id'), s.db.raw('CAST(amount_minor AS CHAR) AS amount'))) as Array<{ id: string; amount: string }>;
  const [refused, ...paid] = payouts.map((p) => ({ endToEndId: p.id, amountMinor: BigInt(p.amount) }));
  writePain002(folders.inboundDir, 'BANK-1', msgId!, { status: 'PART' }, [{ ...refused!, status: 'RJCT', reason: 'AC04' }, ...paid.map((p) => ({ ...p, status: 'ACSC' }))]);
  writeCamt054(folders.inboundDir, 'BANK-2', msgId!, paid.map((p) => ({ ...p, currency: 'SGD' })));
  const ingest = () => ingestBankReports({ db: s.db, ids: s.ids, outbox: new OutboxWriter(s.codec, s.registry), inboundDir: folders.inboundDir, logger: bankLogger });
  await ingest();

  const ctx = { db: s.db, now: new Date(), options: RECON_DEFAULTS, gateway: {} as GatewayReportReader, open: new Map() };
  expect(await bankRail.check(ctx)).toEqual([]);

  // The bank debits the refused payout anyway, and another for one cent more than its payout.
  writeCamt054(folders.inboundDir, 'BANK-3', msgId!, [
    { endToEndId: refused!.endToEndId, amountMinor: refused!.amountMinor, currency: 'SGD' },
    { endToEndId: paid[0]!.endToEndId, amountMinor: paid[0]!.amountMinor + 1n, currency: 'SGD' },
    { endToEndId: '777', amountMinor: 5n, currency: 'SGD' },
  ]);
  // A report naming a payout that is not in the file.
  writePain002(folders.inboundDir, 'BANK-4', msgId!, { status: 'PART' }, [{ endToEndId: '888', status: 'ACSC', amountMinor: 1n }]);
  await ingest();
  // A gateway payout that somehow sits in a bank file.
  const my = (await s.db('payout').where({ region: 'MY' }).first(s.db.raw('CAST(id AS CHAR) AS id'))) as { id: string };
  await s.db('payout').where({ id: my.id }).update({ bank_msg_id: msgId });

  const found = await bankRail.check(ctx);
  expect(found.map((f) => [f.severity, f.entity]).sort()).toEqual(
    [
      ['CRITICAL', `bank/debit/${refused!.endToEndId}`],
      ['CRITICAL', `bank/debit/${paid[0]!.endToEndId}`],
      ['CRITICAL', 'bank/debit/777'],
      ['CRITICAL', `bank/both-rails/${my.id}`],
      ['CRITICAL', 'bank/report/BANK-4/UNKNOWN_END_TO_END_ID/888'],
    ].sort(),
  );
  expect(found.find((f) => f.entity === `bank/debit/${refused!.endToEndId}`)!.detail).toContain('which is FAILED');
}, 120_000);
