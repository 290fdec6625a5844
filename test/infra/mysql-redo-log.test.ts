import { redoLogFor } from '../../infra/mysql-server';

/** A private MariaDB's redo log follows its buffer pool, so bulk writes are not checkpoint-bound. */
test('the redo log of a private MariaDB is a quarter of its buffer pool, never below 96M', () => {
  expect(redoLogFor('4G')).toBe('1024M');
  expect(redoLogFor('512M')).toBe('128M');
  expect(redoLogFor('128M')).toBe('96M');
  expect(redoLogFor('2048k')).toBe('96M');
});
