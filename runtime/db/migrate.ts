import type { Knex } from 'knex';
import * as m0001 from './migrations/0001_foundation';
import * as m0002 from './migrations/0002_uploads';
import * as m0003 from './migrations/0003_settlement';
import * as m0004 from './migrations/0004_commission';

/**
 * Migrations are listed here in order, imported statically, so they run the same under tsx, jest
 * and a bundler, with no directory scanning. Add new files at the end; never edit a landed one.
 */
const MIGRATIONS: Array<[string, { up(k: Knex): Promise<void>; down(k: Knex): Promise<void> }]> = [
  ['0001_foundation', m0001],
  ['0002_uploads', m0002],
  ['0003_settlement', m0003],
  ['0004_commission', m0004],
];

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => MIGRATIONS.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS.find(([n]) => n === name)![1],
};

export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}
