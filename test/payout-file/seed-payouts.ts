import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import type { TestResources } from '../helpers/resources';

/** Payout rows for payout-file tests, written straight into a test's own database. */
export interface SeedPayout {
  id: bigint;
  shopUserId: bigint;
  amountMinor: bigint;
  region?: string;
  cycleId?: bigint;
  currency?: string;
  status?: string;
}

export const CYCLE = 20261116n;
/** 18-digit ids, as in production (docs/DESIGN.md, lesson 8). */
export const BASE_ID = 652024209997893632n;

export async function seedPayouts(db: Knex, payouts: readonly SeedPayout[]): Promise<void> {
  for (let i = 0; i < payouts.length; i += 5000) {
    const rows = payouts.slice(i, i + 5000).map((p) => ({
      id: p.id.toString(),
      cycle_id: (p.cycleId ?? CYCLE).toString(),
      region: p.region ?? 'SG',
      shop_user_id: p.shopUserId.toString(),
      currency: p.currency ?? 'SGD',
      amount_minor: p.amountMinor.toString(),
      status: p.status ?? 'PENDING',
    }));
    await db('payout').insert(rows);
  }
}

/** A data dir of the test's own, removed afterwards. */
export async function tempDataDir(r: TestResources): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sts-payout-file-'));
  r.defer(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}
