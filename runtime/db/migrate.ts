import type { Knex } from 'knex';
import { SchemaAheadError } from './db-errors';
import * as m0001 from './migrations/0001_foundation';
import * as m0002 from './migrations/0002_uploads';
import * as m0003 from './migrations/0003_settlement';
import * as m0004 from './migrations/0004_commission';
import * as m0005 from './migrations/0005_payout_file_pages';
import * as m0006 from './migrations/0006_payment_ledger';
import * as m0007 from './migrations/0007_recon_findings';
import * as m0008 from './migrations/0008_dlq_replay';
import * as m0009 from './migrations/0009_ops_audit';
import * as m0010 from './migrations/0010_account_cycle_index';
import * as m0011 from './migrations/0011_binary_collation';
import * as m0012 from './migrations/0012_payout_file_parts';
import * as m0013 from './migrations/0013_ledger_totals_decimal';
import * as m0014 from './migrations/0014_outbox_parked';
import * as m0015 from './migrations/0015_outbox_parked_narrow';
import * as m0016 from './migrations/0016_payout_rails';
import * as m0017 from './migrations/0017_bank_files';
import * as m0018 from './migrations/0018_trace_provenance';
import * as m0019 from './migrations/0019_daily_effect_indexes';
import * as m0020 from './migrations/0020_upload_confirmation';
import * as m0021 from './migrations/0021_role_lease';
import * as m0022 from './migrations/0022_payout_gateway_reference';

/**
 * Migrations are listed here in order, imported statically, so they run the same under tsx, jest
 * and a bundler, with no directory scanning. Add new files at the end; never edit a landed one.
 */
const MIGRATIONS: Array<[string, { up(k: Knex): Promise<void>; down(k: Knex): Promise<void> }]> = [
  ['0001_foundation', m0001],
  ['0002_uploads', m0002],
  ['0003_settlement', m0003],
  ['0004_commission', m0004],
  ['0005_payout_file_pages', m0005],
  ['0006_payment_ledger', m0006],
  ['0007_recon_findings', m0007],
  ['0008_dlq_replay', m0008],
  ['0009_ops_audit', m0009],
  ['0010_account_cycle_index', m0010],
  ['0011_binary_collation', m0011],
  ['0012_payout_file_parts', m0012],
  ['0013_ledger_totals_decimal', m0013],
  ['0014_outbox_parked', m0014],
  ['0015_outbox_parked_narrow', m0015],
  ['0016_payout_rails', m0016],
  ['0017_bank_files', m0017],
  ['0018_trace_provenance', m0018],
  ['0019_daily_effect_indexes', m0019],
  ['0020_upload_confirmation', m0020],
  ['0021_role_lease', m0021],
  ['0022_payout_gateway_reference', m0022],
];

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => MIGRATIONS.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS.find(([n]) => n === name)![1],
};

export async function migrateLatest(db: Knex): Promise<string[]> {
  try {
    const [, applied] = (await db.migrate.latest({ migrationSource: source })) as [number, string[]];
    return applied;
  } catch (err) {
    const missing = /following files are missing: (.*)$/.exec((err as Error).message)?.[1];
    if (!missing) throw err;
    // A database migrated by a newer checkout: running older code against it could write rows
    // that the newer schema's rules no longer allow, so stop here.
    throw new SchemaAheadError(missing, err);
  }
}
