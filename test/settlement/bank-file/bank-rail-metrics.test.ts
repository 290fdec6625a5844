import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { OutboxWriter } from '../../../runtime/outbox/outbox-writer';
import { BankRailWorker, type BankRailDeps } from '../../../settlement/bank-file/bank-rail-worker';
import { useTestResources } from '../../fixtures/resources';
import { uploadSetup } from '../../fixtures/upload-harness';
import { BANK_SELLERS, bankCycle, bankFolders, bankLogger, writePain002 } from '../../fixtures/bank-rail';

/**
 * What the bank rail tells an operator through /metrics, caused for real: the bank's drop boxes
 * gone (a failed send and a failed ingest, counted by step, nothing lost), a file sent and left
 * unanswered for hours (the count and the age of the oldest), then the bank's report and an
 * unreadable file arriving (applied and refused), after which nothing waits.
 */
const r = useTestResources();

test('failed turns, files sent, the unanswered file and its age, and the reports read are what /metrics says', async () => {
  const s = await uploadSetup(r, 1);
  await bankCycle(r, s, 'SG', 'SG=bank-file');
  const folders = bankFolders(r);
  const registry = new Registry();
  const value = async (name: string, labels: Record<string, string> = {}) => {
    const metric = registry.getSingleMetric(name);
    if (!metric) throw new Error(`${name} is not registered`);
    const found = (await metric.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return found?.value ?? 0;
  };
  const deps: BankRailDeps = { db: s.db, ids: s.ids, outbox: new OutboxWriter(s.codec, s.registry), dataDir: s.dataDir, ...folders, environment: 'TEST', logger: bankLogger, metrics: registry };

  // The host-to-host mounts are gone: a plain file where each folder should be.
  const gone = path.join(path.dirname(folders.outboundDir), 'unmounted');
  fs.writeFileSync(gone, '');
  await new BankRailWorker({ ...deps, outboundDir: gone, inboundDir: gone }, 60_000).tick();
  expect(await value('sts_bank_turn_failures_total', { step: 'send' })).toBe(1);
  expect(await value('sts_bank_turn_failures_total', { step: 'ingest' })).toBe(1);
  expect(await value('sts_bank_files_transmitted_total')).toBe(0);
  expect(fs.readdirSync(folders.outboundDir)).toEqual([]);

  // The folders are back: the file the failed turn wrote goes out, and waits for the bank.
  const worker = new BankRailWorker(deps, 60_000);
  await worker.tick();
  expect(await value('sts_bank_files_transmitted_total')).toBe(1);
  const [file] = (await s.db('bank_file').select('msg_id', 'tx_count')) as Array<{ msg_id: string; tx_count: number }>;
  expect(file!.tx_count).toBe(BANK_SELLERS.length);
  expect(fs.readdirSync(folders.outboundDir)).toEqual([`${file!.msg_id}.xml`]);
  expect(await value('sts_bank_unanswered_files')).toBe(1);

  // Three hours without an answer from the bank.
  await s.db('bank_file').where({ msg_id: file!.msg_id }).update({ transmitted_at: new Date(Date.now() - 3 * 3600_000) });
  await worker.tick();
  const age = await value('sts_bank_oldest_unanswered_file_seconds');
  expect(age).toBeGreaterThanOrEqual(3 * 3600);
  expect(age).toBeLessThan(3 * 3600 + 120);
  expect(await value('sts_bank_files_transmitted_total')).toBe(1);

  // The bank accepts the file; a damaged file lands beside its report.
  writePain002(folders.inboundDir, 'BANK-METRICS-1', file!.msg_id, { status: 'ACCP' }, []);
  fs.writeFileSync(path.join(folders.inboundDir, 'damaged.xml'), '<Document><CstmrPmtStsRpt>');
  await worker.tick();
  expect(await value('sts_bank_reports_total', { result: 'applied' })).toBe(1);
  expect(await value('sts_bank_reports_total', { result: 'refused' })).toBe(1);
  expect(await value('sts_bank_unanswered_files')).toBe(0);
  expect(await value('sts_bank_oldest_unanswered_file_seconds')).toBe(0);
  expect(await value('sts_bank_turn_failures_total', { step: 'send' })).toBe(1);
  expect(await value('sts_bank_turn_failures_total', { step: 'ingest' })).toBe(1);
}, 120_000);
