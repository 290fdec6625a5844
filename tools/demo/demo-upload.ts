import fs from 'node:fs';
import { once } from 'node:events';
import { formatMinorAmount } from '../../runtime/money/decimal-amount';
import { regionInfo } from '../../runtime/money/regions';
import { SELLER_BASE } from '../orders/synthetic-orders';

/**
 * The billing-item CSV the demo and the chaos run upload: service fees and subsidies in SG for
 * the same sellers the order stream uses; every 100th row names an unknown region and is
 * rejected. Returns what a correct ingestion must book, computed from the rows as written, so a
 * caller can check the ledger without trusting the code under test.
 */
export interface DemoUploadExpectation {
  rows: number;
  accepted: number;
  rejected: number;
  /** Sum of the accepted rows per seller, in SGD minor units. */
  sumBySeller: Map<bigint, bigint>;
}

export async function writeDemoUpload(file: string, rows: number, sellers: number, refPrefix: string): Promise<DemoUploadExpectation> {
  const out = fs.createWriteStream(file);
  const sg = regionInfo('SG')!;
  const sumBySeller = new Map<bigint, bigint>();
  let rejected = 0;
  let buf = 'external_ref,shop_user_id,region,currency,amount,item_type,memo\n';
  for (let i = 1; i <= rows; i++) {
    const seller = SELLER_BASE + BigInt(i % sellers);
    const minor = i % 3 === 0 ? -BigInt(50 + (i % 500)) : BigInt(100 + (i % 2000));
    const bad = i % 100 === 0;
    if (bad) rejected++;
    else sumBySeller.set(seller, (sumBySeller.get(seller) ?? 0n) + minor);
    buf += `${refPrefix}-${i},${seller},${bad ? 'XX' : 'SG'},${sg.currency},${formatMinorAmount(minor, sg.exponent)},${minor < 0n ? 'SERVICE_FEE' : 'SUBSIDY'},demo row ${i}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return { rows, accepted: rows - rejected, rejected, sumBySeller };
}
