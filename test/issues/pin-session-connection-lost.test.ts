import { createConnection, type Connection } from 'mysql2';
import { useTestResources } from '../fixtures/resources';
import { pinSession, SESSION_SQL_MODE } from '../../runtime/db/knex';
import { isRetriable } from '../../runtime/processor/retry-policy';

/**
 * Regression: a new pooled connection that the server closed while its session was being pinned
 * was reported as STS_SQL_MODE_UNSUPPORTED, which is not retriable. `sts chaos --db-cluster` met it
 * on every failover: HAProxy accepts the login for a node that dies a moment later, the SET
 * SESSION finds the connection gone, and a close exited where it should have retried (a processor
 * would have dead-lettered its record). A lost connection is now thrown as itself, retriable.
 */
const r = useTestResources();

test('a connection the server closes before its session is pinned fails with the retriable lost connection, not STS_SQL_MODE_UNSUPPORTED', async () => {
  const { db, url } = await r.database();
  const conn = await open(url);
  r.defer(() => conn.destroy());
  // As in knex's pool: the connection's own error event is expected, the queries report it.
  conn.on('error', () => undefined);
  const [row] = await new Promise<Array<{ id: number }>>((resolve, reject) => conn.query('SELECT CONNECTION_ID() AS id', (err, rows) => (err ? reject(err) : resolve(rows as Array<{ id: number }>))));
  // The pinning's SET queues behind a statement still running, and the server ends the session
  // under both, as a node killed behind the proxy does.
  const running = new Promise((resolve) => conn.query('SELECT SLEEP(10)', resolve));
  const pinning = pinSession(conn as never, SESSION_SQL_MODE).catch((e: unknown) => e);
  await db.raw(`KILL CONNECTION ${Number(row!.id)}`);
  await running;

  const err = (await pinning) as { code?: string; fatal?: boolean };
  expect(err.code).not.toBe('STS_SQL_MODE_UNSUPPORTED');
  expect(err.fatal).toBe(true);
  expect(isRetriable(err)).toBe(true);
});

function open(url: string): Promise<Connection> {
  const u = new URL(url);
  const conn = createConnection({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || 'root'), password: decodeURIComponent(u.password), database: u.pathname.slice(1) });
  return new Promise((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve(conn))));
}
