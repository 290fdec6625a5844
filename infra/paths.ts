import path from 'node:path';

/** Where each component of the local stack keeps its files, all under STS_DATA_DIR. */
export function stackPaths(dataDir: string) {
  const kafka = path.join(dataDir, 'kafka');
  const registry = path.join(dataDir, 'registry');
  const mysql = path.join(dataDir, 'mysql');
  const redis = path.join(dataDir, 'redis');
  return {
    kafka: {
      root: kafka,
      libs: path.join(kafka, 'libs'),
      config: path.join(kafka, 'config', 'server.properties'),
      log4j: path.join(kafka, 'config', 'log4j.properties'),
      data: path.join(kafka, 'data'),
      log: path.join(kafka, 'kafka.out'),
      pid: path.join(kafka, 'kafka.pid'),
    },
    registry: {
      root: registry,
      dist: path.join(registry, 'dist'),
      app: path.join(registry, 'app'),
      log: path.join(registry, 'registry.out'),
      pid: path.join(registry, 'registry.pid'),
    },
    mysql: {
      root: mysql,
      data: path.join(mysql, 'data'),
      socket: path.join(mysql, 'mysqld.sock'),
      log: path.join(mysql, 'mysqld.err'),
      pid: path.join(mysql, 'mysqld.pid'),
    },
    redis: {
      root: redis,
      log: path.join(redis, 'redis.log'),
      pid: path.join(redis, 'redis.pid'),
    },
  };
}

/**
 * Node `id` of a local Kafka: node 1 keeps the single broker's paths (so a stack started with one
 * node goes on as node 1 of a larger one), nodes 2 and up live in kafka/node-<id>/; all share the
 * jars in kafka/libs.
 */
export function kafkaNodePaths(dataDir: string, id: number) {
  const base = stackPaths(dataDir).kafka;
  if (id === 1) return base;
  const root = path.join(base.root, `node-${id}`);
  return {
    root,
    libs: base.libs,
    config: path.join(root, 'config', 'server.properties'),
    log4j: path.join(root, 'config', 'log4j.properties'),
    data: path.join(root, 'data'),
    log: path.join(root, 'kafka.out'),
    pid: path.join(root, 'kafka.pid'),
  };
}

/**
 * A local Galera cluster (STS_MYSQL_NODES above 1): the nodes' ports, chosen once, and HAProxy in
 * front, all under galera/; each node's own files under galera/node-<id>/ (galeraNodePaths).
 */
export function galeraPaths(dataDir: string) {
  const root = path.join(dataDir, 'galera');
  const haproxy = path.join(root, 'haproxy');
  return {
    root,
    ports: path.join(root, 'ports.json'),
    haproxy: {
      root: haproxy,
      config: path.join(haproxy, 'haproxy.cfg'),
      socket: path.join(haproxy, 'stats.sock'),
      log: path.join(haproxy, 'haproxy.log'),
      pid: path.join(haproxy, 'haproxy.pid'),
    },
  };
}

export function galeraNodePaths(dataDir: string, id: number) {
  const root = path.join(galeraPaths(dataDir).root, `node-${id}`);
  return {
    root,
    data: path.join(root, 'data'),
    config: path.join(root, 'my.cnf'),
    socket: path.join(root, 'mysqld.sock'),
    log: path.join(root, 'mysqld.err'),
    recoverLog: path.join(root, 'recover.err'),
    pid: path.join(root, 'mysqld.pid'),
  };
}
