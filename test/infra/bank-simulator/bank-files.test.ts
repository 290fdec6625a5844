import fs from 'node:fs';
import path from 'node:path';
import { renderBankFile } from '../../../settlement/bank-file/bank-pain001';
import {
  DEBTOR_ACCOUNT,
  decimalSum,
  dropFile,
  getJson,
  orderProblems,
  pain001,
  postFaults,
  readInbound,
  reportsFor,
  sleep,
  useBankHarness,
  waitForReports,
  type BankChild,
  type BankDirs,
  type ReportsFor,
} from '../../fixtures/bank-harness';

/**
 * The bank simulator against real folders and a real process: what it writes for a file it
 * executes, a file it has seen, transfers it refuses, and each injected fault. One simulator
 * serves the whole file; every test uses its own MsgIds and EndToEndIds and starts from the
 * default faults.
 */

const h = useBankHarness();
let dirs: BankDirs;
let sim: BankChild;

interface Stats {
  filesReceived: number;
  duplicatesRefused: number;
  transfersExecuted: number;
  transfersRejected: number;
  reportsWritten: number;
  maxExecutionsPerEndToEndId: number;
}

interface Executions {
  count: number;
  executions: Array<{ msgId: string; amount: string; currency: string; account: string }>;
}

beforeAll(async () => {
  dirs = h.dirs();
  sim = await h.spawn(dirs);
});

beforeEach(async () => {
  expect((await postFaults(sim.url, null)).status).toBe(200);
});

/** The final pain.002 is there, and the camt.054 too unless nothing was executed. */
const finished = (r: ReportsFor) =>
  r.finals.length > 0 && (r.finals[0]!.groupStatus === 'RJCT' || r.notifications.length > 0);

async function send(msgId: string, xml: string, ready: (r: ReportsFor) => boolean = finished) {
  dropFile(dirs.outbound, `${msgId}.xml`, xml);
  return waitForReports(dirs.inbound, msgId, ready);
}

const stats = () => getJson<Stats>(`${sim.url}/_sim/stats`);
const executions = (id: string) =>
  getJson<Executions>(`${sim.url}/_sim/executions?endToEndId=${encodeURIComponent(id)}`);

describe('bank simulator: files', () => {
  it('executes a file of 3 transfers: ACCP, then ACSC with 3 lines, then a camt.054 of 3 debits', async () => {
    const transfers = [
      { endToEndId: 'A-E2E-1', amount: '10.25' },
      { endToEndId: 'A-E2E-2', amount: '20.50' },
      { endToEndId: 'A-E2E-3', amount: '1234567890123.45' },
    ];
    const before = await stats();
    const r = await send(
      'A-MSG-1',
      pain001('A-MSG-1', transfers),
      (x) => x.notifications.length > 0,
    );

    expect(fs.existsSync(path.join(dirs.outbound, 'A-MSG-1.xml'))).toBe(false);
    expect(fs.readdirSync(path.join(dirs.journal, 'received'))).toEqual([
      expect.stringMatching(/^\d{8}-A-MSG-1\.xml$/),
    ]);

    expect(r.accepted).toMatchObject({
      groupStatus: 'ACCP',
      orgnlMsgNmId: 'pain.001.001.09',
      orgnlNbOfTxs: '3',
    });
    expect(r.accepted!.hasPaymentBlock).toBe(false);
    expect(r.finals).toHaveLength(1);
    const final = r.finals[0]!;
    expect(final).toMatchObject({
      groupStatus: 'ACSC',
      orgnlMsgId: 'A-MSG-1',
      orgnlMsgNmId: 'pain.001.001.09',
      orgnlNbOfTxs: '3',
      orgnlCtrlSum: decimalSum(transfers.map((t) => t.amount)),
      pmtInfId: 'A-MSG-1',
    });
    expect(final.lines).toEqual(
      transfers.map((t) => ({
        endToEndId: t.endToEndId,
        status: 'ACSC',
        reason: undefined,
        amount: t.amount,
        currency: 'SGD',
      })),
    );

    expect(r.notifications).toHaveLength(1);
    const camt = r.notifications[0]!;
    expect(camt.account).toBe(DEBTOR_ACCOUNT);
    expect(camt.currency).toBe('SGD');
    expect(camt.entries).toHaveLength(3);
    for (const [i, e] of camt.entries.entries()) {
      expect(e).toMatchObject({
        amount: transfers[i]!.amount,
        txAmount: transfers[i]!.amount,
        currency: 'SGD',
        cdtDbt: 'DBIT',
        status: 'BOOK',
        domain: 'PMNT',
        family: 'ICDT',
        subFamily: 'DMCT',
        orgnlMsgId: 'A-MSG-1',
        endToEndId: transfers[i]!.endToEndId,
      });
      expect(e.bookingDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
    expect(decimalSum(camt.entries.map((e) => e.amount!))).toBe(final.orgnlCtrlSum);

    // Report MsgIds: BANKSIM-<8 digits>, the file named after it, issued in writing order.
    const ids = [r.accepted!.msgId, final.msgId, camt.msgId];
    for (const id of ids) expect(id).toMatch(/^BANKSIM-\d{8}$/);
    expect([...ids].sort()).toEqual(ids);
    for (const [view, id] of [
      [r.accepted!, ids[0]],
      [final, ids[1]],
      [camt, ids[2]],
    ] as const)
      expect(view.file).toBe(`${id}.xml`);

    // Element order as the XSDs want it, in every file written.
    for (const f of readInbound(dirs.inbound)) expect(orderProblems(f.text)).toEqual([]);
    const swapped = fs
      .readFileSync(path.join(dirs.inbound, final.file), 'utf8')
      .replace(/(<OrgnlEndToEndId>[^<]*<\/OrgnlEndToEndId>)(\s*)(<TxSts>[^<]*<\/TxSts>)/, '$3$2$1');
    expect(orderProblems(swapped)).toEqual([
      expect.stringContaining('TxInfAndSts: OrgnlEndToEndId out of order'),
    ]);

    const after = await stats();
    expect(after.transfersExecuted - before.transfersExecuted).toBe(3);
    expect(after.reportsWritten - before.reportsWritten).toBe(3);
    expect((await executions('A-E2E-3')).executions).toEqual([
      expect.objectContaining({
        msgId: 'A-MSG-1',
        amount: '1234567890123.45',
        currency: 'SGD',
        account: 'ACC-A-E2E-3',
      }),
    ]);
  });

  it('executes a file as the marketplace renders it (IBAN, clearing-code agent, remittance text)', async () => {
    const payee = (i: number, iban: boolean) => ({
      holderName: `Seller & Co ${i}`,
      account: iban ? 'DE89370400440532013000' : `00123-${i}`,
      accountScheme: iban ? ('IBAN' as const) : ('OTHER' as const),
      bankId: iban ? 'DBSSSGSGXXX' : '7171',
      bankScheme: iban ? ('BIC' as const) : ('CLEARING' as const),
      country: 'SG',
    });
    const xml = renderBankFile(
      {
        msgId: 'B-MSG-1',
        region: 'SG',
        currency: 'SGD',
        createdAt: new Date('2024-05-01T00:00:00Z'),
      },
      [
        { payoutId: 652024209997893632n, cycleId: 1n, amountMinor: 1250n, payee: payee(1, true) },
        { payoutId: 652024209997893633n, cycleId: 1n, amountMinor: 99n, payee: payee(2, false) },
      ],
    );
    const r = await send('B-MSG-1', xml, (x) => x.notifications.length > 0);
    expect(r.finals[0]).toMatchObject({ groupStatus: 'ACSC', orgnlCtrlSum: '13.49' });
    expect(r.finals[0]!.lines.map((l) => [l.endToEndId, l.amount])).toEqual([
      ['652024209997893632', '12.50'],
      ['652024209997893633', '0.99'],
    ]);
    expect(r.notifications[0]!.account).toBe('STS-SG-SETTLEMENT-0001');
    expect((await executions('652024209997893632')).executions[0]!.account).toBe(
      'DE89370400440532013000',
    );
    expect((await executions('652024209997893633')).executions[0]!.account).toBe('00123-2');
  });

  it('refuses a MsgId it has seen with RJCT AM05 and executes nothing again', async () => {
    const xml = pain001('C-MSG-1', [
      { endToEndId: 'C-E2E-1', amount: '5.00' },
      { endToEndId: 'C-E2E-2', amount: '6.00' },
    ]);
    await send('C-MSG-1', xml);
    const before = await stats();
    const r = await send('C-MSG-1', xml, (x) => x.finals.length >= 2);
    const dup = r.finals[1]!;
    expect(dup).toMatchObject({ groupStatus: 'RJCT', groupReason: 'AM05', orgnlMsgId: 'C-MSG-1' });
    expect(dup.hasPaymentBlock).toBe(false);
    expect(r.statuses.filter((s) => s.groupStatus === 'ACCP')).toHaveLength(1);
    expect(r.notifications).toHaveLength(1);
    const after = await stats();
    expect(after.duplicatesRefused - before.duplicatesRefused).toBe(1);
    expect(after.transfersExecuted).toBe(before.transfersExecuted);
    expect(after.maxExecutionsPerEndToEndId).toBe(1);
    expect((await executions('C-E2E-1')).count).toBe(1);
    expect(fs.existsSync(path.join(dirs.outbound, 'C-MSG-1.xml'))).toBe(false);
  });

  it('refuses an EndToEndId executed in an earlier file (AM05) and executes the rest: PART', async () => {
    await send('D-MSG-1', pain001('D-MSG-1', [{ endToEndId: 'D-E2E-1', amount: '1.00' }]));
    const r = await send(
      'D-MSG-2',
      pain001('D-MSG-2', [
        { endToEndId: 'D-E2E-1', amount: '1.00' },
        { endToEndId: 'D-E2E-2', amount: '2.00' },
        { endToEndId: 'D-E2E-2', amount: '2.00' },
      ]),
      (x) => x.notifications.length > 0,
    );
    expect(r.finals[0]!.groupStatus).toBe('PART');
    expect(r.finals[0]!.lines.map((l) => [l.endToEndId, l.status, l.reason])).toEqual([
      ['D-E2E-1', 'RJCT', 'AM05'],
      ['D-E2E-2', 'ACSC', undefined],
      ['D-E2E-2', 'RJCT', 'AM05'],
    ]);
    expect(r.notifications[0]!.entries.map((e) => e.endToEndId)).toEqual(['D-E2E-2']);
    expect((await executions('D-E2E-1')).count).toBe(1);
    expect((await executions('D-E2E-2')).count).toBe(1);
  });

  it('refuses transfers named by rejectEndToEndIds and to INVALID accounts: PART, camt of the executed only', async () => {
    const res = await postFaults(sim.url, {
      rejectEndToEndIds: { 'E-E2E-2': 'AC01', 'E-E2E-4': 'AM04' },
    });
    expect(res.status).toBe(200);
    const r = await send(
      'E-MSG-1',
      pain001('E-MSG-1', [
        { endToEndId: 'E-E2E-1', amount: '1.10' },
        { endToEndId: 'E-E2E-2', amount: '2.20' },
        { endToEndId: 'E-E2E-3', amount: '3.30', account: 'INVALID-123' },
        { endToEndId: 'E-E2E-4', amount: '4.40' },
        { endToEndId: 'E-E2E-5', amount: '5.50' },
      ]),
      (x) => x.notifications.length > 0,
    );
    const final = r.finals[0]!;
    expect(final.groupStatus).toBe('PART');
    expect(final.lines.map((l) => [l.endToEndId, l.status, l.reason, l.amount])).toEqual([
      ['E-E2E-1', 'ACSC', undefined, '1.10'],
      ['E-E2E-2', 'RJCT', 'AC01', '2.20'],
      ['E-E2E-3', 'RJCT', 'AC04', '3.30'],
      ['E-E2E-4', 'RJCT', 'AM04', '4.40'],
      ['E-E2E-5', 'ACSC', undefined, '5.50'],
    ]);
    expect(r.notifications[0]!.entries.map((e) => [e.endToEndId, e.amount])).toEqual([
      ['E-E2E-1', '1.10'],
      ['E-E2E-5', '5.50'],
    ]);
    expect((await executions('E-E2E-2')).count).toBe(0);
  });

  it('answers a file where nothing executes with a final RJCT and no camt.054', async () => {
    const r = await send(
      'F-MSG-1',
      pain001('F-MSG-1', [
        { endToEndId: 'F-E2E-1', amount: '1.00', account: 'INVALID-1' },
        { endToEndId: 'F-E2E-2', amount: '2.00', account: 'INVALID-2' },
      ]),
    );
    expect(r.accepted?.groupStatus).toBe('ACCP');
    expect(r.finals[0]!.groupStatus).toBe('RJCT');
    expect(r.finals[0]!.lines.map((l) => l.reason)).toEqual(['AC04', 'AC04']);
    await sleep(300);
    expect(reportsFor(dirs.inbound, 'F-MSG-1').notifications).toHaveLength(0);
  });

  it('refuses malformed files and wrong NbOfTxs or CtrlSum as a whole with FF01', async () => {
    const tx = [
      { endToEndId: 'G-E2E-1', amount: '1.00' },
      { endToEndId: 'G-E2E-2', amount: '2.00' },
    ];
    const cases: Array<[string, string]> = [
      ['G-MSG-1', pain001('G-MSG-1', tx, { nbOfTxs: '3' })],
      ['G-MSG-2', pain001('G-MSG-2', tx, { ctrlSum: '3.01' })],
      ['G-MSG-3', pain001('G-MSG-3', tx).replace('</PmtInf>', '')],
      ['G-MSG-4', pain001('G-MSG-4', tx).replace('pain.001.001.09', 'pain.001.001.03')],
    ];
    for (const [msgId, xml] of cases) {
      const r = await send(msgId, xml);
      expect(r.statuses).toHaveLength(1);
      expect(r.finals[0]).toMatchObject({
        orgnlMsgId: msgId,
        groupStatus: 'RJCT',
        groupReason: 'FF01',
      });
    }
    expect((await executions('G-E2E-1')).count).toBe(0);
  });

  it('refuses the next files as a whole with rejectNextFiles, then accepts again', async () => {
    await postFaults(sim.url, { rejectNextFiles: 1 });
    const one = await send(
      'H-MSG-1',
      pain001('H-MSG-1', [{ endToEndId: 'H-E2E-1', amount: '1.00' }]),
    );
    expect(one.statuses).toHaveLength(1);
    expect(one.finals[0]).toMatchObject({ groupStatus: 'RJCT', groupReason: 'FF01' });
    expect((await executions('H-E2E-1')).count).toBe(0);

    await postFaults(sim.url, { rejectNextFiles: 1, fileRejectCode: 'DS0A' });
    const two = await send(
      'H-MSG-2',
      pain001('H-MSG-2', [{ endToEndId: 'H-E2E-2', amount: '1.00' }]),
    );
    expect(two.finals[0]).toMatchObject({ groupStatus: 'RJCT', groupReason: 'DS0A' });

    const three = await send(
      'H-MSG-3',
      pain001('H-MSG-3', [{ endToEndId: 'H-E2E-3', amount: '1.00' }]),
    );
    expect(three.finals[0]!.groupStatus).toBe('ACSC');
  });

  it('writes every final report twice under the same MsgId with duplicateReports', async () => {
    await postFaults(sim.url, { duplicateReports: true });
    const r = await send(
      'I-MSG-1',
      pain001('I-MSG-1', [{ endToEndId: 'I-E2E-1', amount: '7.00' }]),
      (x) => x.finals.length === 2 && x.notifications.length === 2,
    );
    const [a, b] = r.finals;
    expect(a!.msgId).toBe(b!.msgId);
    expect([a!.file, b!.file].sort()).toEqual([`${a!.msgId}-copy.xml`, `${a!.msgId}.xml`].sort());
    expect(fs.readFileSync(path.join(dirs.inbound, a!.file), 'utf8')).toBe(
      fs.readFileSync(path.join(dirs.inbound, b!.file), 'utf8'),
    );
    expect(r.notifications[0]!.msgId).toBe(r.notifications[1]!.msgId);
    expect(r.statuses.filter((s) => s.groupStatus === 'ACCP')).toHaveLength(1);
    expect((await executions('I-E2E-1')).count).toBe(1);
  });

  it('adds ACSC lines for EndToEndIds never sent to the next final report with unknownEndToEndIds', async () => {
    await postFaults(sim.url, { unknownEndToEndIds: 2 });
    const r = await send(
      'J-MSG-1',
      pain001('J-MSG-1', [{ endToEndId: 'J-E2E-1', amount: '3.00' }]),
      (x) => x.notifications.length > 0,
    );
    const lines = r.finals[0]!.lines;
    expect(lines).toHaveLength(3);
    expect(r.finals[0]!.groupStatus).toBe('ACSC');
    const unknown = lines.filter((l) => l.endToEndId !== 'J-E2E-1');
    expect(unknown).toHaveLength(2);
    for (const l of unknown) {
      expect(l.status).toBe('ACSC');
      expect((await executions(l.endToEndId!)).count).toBe(0);
    }
    expect(r.notifications[0]!.entries).toHaveLength(1);
    const next = await send(
      'J-MSG-2',
      pain001('J-MSG-2', [{ endToEndId: 'J-E2E-2', amount: '3.00' }]),
    );
    expect(next.finals[0]!.lines).toHaveLength(1);
  });

  it('refuses a fault patch that is not valid, changing nothing', async () => {
    const bad = await postFaults(sim.url, { rejectNextFiles: 2, fileRejectCode: 'nope' } as never);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('INVALID_FAULTS');
    const faults = await getJson<{ rejectNextFiles: number }>(`${sim.url}/_sim/faults`);
    expect(faults.rejectNextFiles).toBe(0);
  });
});
