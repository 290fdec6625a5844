/**
 * HAProxy's health check of a Galera node, as tcp-check rules speaking the MySQL protocol: log in,
 * ask whether the node is Synced in a primary component, quit.
 *
 * Why not `option mysql-check`: it only logs in, and a node that is joining, donating or cut off
 * from the majority still accepts logins; only its queries fail (1047, "WSREP has not yet prepared
 * node for application use"). HAProxy would keep sending the writes there. Why not Galera's
 * usual clustercheck over HTTP: that is one more daemon per node to run and watch.
 *
 * The login packets are constant because the check user has no password (and no privileges: it
 * only reads information_schema.GLOBAL_STATUS). The query and a QUIT go out together, so the
 * server answers and closes at once: a node that is not Synced fails its check within
 * milliseconds instead of at the check timeout.
 */

/** Created on the cluster by `sts up` (checkUserStatements); replicated to every node. */
export const CHECK_USER = 'sts_check';

export function checkUserStatements(): string[] {
  return [`CREATE USER IF NOT EXISTS '${CHECK_USER}'@'127.0.0.1'`, `CREATE USER IF NOT EXISTS '${CHECK_USER}'@'localhost'`];
}

/** The value the check's query returns only on a Synced, ready node. */
const SYNCED = 'sts-synced';

const CHECK_QUERY =
  `SELECT '${SYNCED}' AS s FROM information_schema.GLOBAL_STATUS st, information_schema.GLOBAL_STATUS rd ` +
  "WHERE st.VARIABLE_NAME = 'WSREP_LOCAL_STATE' AND st.VARIABLE_VALUE = '4' " +
  "AND rd.VARIABLE_NAME = 'WSREP_READY' AND rd.VARIABLE_VALUE = 'ON'";

/** The `tcp-check` lines of the listener (after `option tcp-check`). */
export function galeraCheckRules(): string[] {
  const hex = (b: Buffer) => b.toString('hex');
  return [
    'tcp-check connect',
    // The server's greeting: a packet header, then protocol version 10. HAProxy matches rbinary
    // against the response in upper-case hex.
    'tcp-check expect rbinary ^.{8}0A',
    `tcp-check send-binary ${hex(packet(1, loginPayload(CHECK_USER)))}`,
    // OK packet: seq 2, no rows affected, autocommit status.
    'tcp-check expect binary 0700000200000002',
    `tcp-check send-binary ${hex(Buffer.concat([packet(0, Buffer.concat([Buffer.from([0x03]), Buffer.from(CHECK_QUERY)])), packet(0, Buffer.from([0x01]))]))}`,
    // The one row: a length-prefixed string. A column definition never holds it (its alias is s).
    `tcp-check expect binary ${hex(Buffer.concat([Buffer.from([SYNCED.length]), Buffer.from(SYNCED)]))}`,
  ];
}

/** A MySQL protocol packet: 3-byte little-endian length, sequence id, payload. */
function packet(seq: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUIntLE(payload.length, 0, 3);
  header.writeUInt8(seq, 3);
  return Buffer.concat([header, payload]);
}

/** HandshakeResponse41 for a user without password, no database, the server's default plugin. */
function loginPayload(user: string): Buffer {
  // CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION
  const fixed = Buffer.alloc(32);
  fixed.writeUInt32LE(0x0000a201, 0);
  fixed.writeUInt32LE(16 * 1024 * 1024, 4);
  fixed.writeUInt8(0x21, 8); // utf8_general_ci; the rest is the 23 reserved zero bytes
  return Buffer.concat([fixed, Buffer.from(user), Buffer.from([0x00, 0x00])]);
}
