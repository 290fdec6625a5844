import crypto from 'node:crypto';
import type { Kafka } from 'kafkajs';
import Redis from 'ioredis';
import { loadConfig, withDatabase, type StsConfig } from '../../runtime/config';
import { createDb, type Knex } from '../../runtime/db/knex';
import { migrateLatest } from '../../runtime/db/migrate';
import { createKafka } from '../../runtime/kafka/client';
import { ensureTopicList } from '../../runtime/kafka/topic-admin';
import { dropDatabase, ensureDatabase } from '../../infra/mysql-server';

/**
 * Every test owns its resources: a unique database, topics, groups and Redis key prefix, each
 * created on demand and cleaned up by the afterAll this registers. Nothing is shared between test
 * files, so they can run in parallel workers against one broker and one MariaDB.
 */
export interface TestResources {
  readonly config: StsConfig;
  readonly kafka: Kafka;
  /** A fresh, migrated database; `config.mysqlUrl` is NOT changed, use `url`. */
  database(): Promise<{ db: Knex; url: string; name: string }>;
  /** A new topic with a unique name; deleted after the file's tests. */
  topic(prefix: string, partitions?: number): Promise<string>;
  group(prefix: string): string;
  redis(): Redis;
  /** A unique string for keys, refs and prefixes. */
  unique(prefix: string): string;
  defer(cleanup: () => Promise<unknown> | unknown): void;
}

export function useTestResources(): TestResources {
  const config = loadConfig();
  const kafka = createKafka(config, 'sts-test');
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const unique = (prefix: string) => `${prefix}_${process.env.JEST_WORKER_ID ?? 0}_${crypto.randomBytes(4).toString('hex')}`;

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        /* best effort: a leaked scratch resource must not fail the test that passed */
      }
    }
  });

  return {
    config,
    kafka,
    unique,
    defer: (fn) => cleanups.push(fn),
    async database() {
      const name = unique('sts_t');
      await ensureDatabase(config.mysqlUrl, name);
      const url = withDatabase(config.mysqlUrl, name);
      const db = createDb(url);
      cleanups.push(async () => {
        await db.destroy();
        await dropDatabase(config.mysqlUrl, name);
      });
      await migrateLatest(db);
      return { db, url, name };
    },
    async topic(prefix, partitions = 3) {
      const topic = unique(`t.${prefix}`).replace(/_/g, '-');
      await ensureTopicList(kafka, [{ topic, numPartitions: partitions }]);
      cleanups.push(async () => {
        const admin = kafka.admin();
        await admin.connect();
        await admin.deleteTopics({ topics: [topic] }).finally(() => admin.disconnect());
      });
      return topic;
    },
    group: (prefix) => unique(`g.${prefix}`),
    redis() {
      const client = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
      cleanups.push(() => client.quit());
      return client;
    },
  };
}
