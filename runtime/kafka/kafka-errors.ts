import { StsError } from '../errors';

/**
 * Errors of the Kafka client layer. Each class raises one code of the closed set in
 * runtime/error-codes.ts, on the root class StsError (runtime/errors.ts).
 */

/** The kafkajs internals that direct partition reads rely on are missing (a kafkajs upgrade).
 * Not retriable: every attempt would fail the same way until the code is adapted. */
export class KafkaClientUnsupportedError extends StsError {
  constructor(detail: string, cause?: unknown) {
    super(
      'STS_KAFKA_CLIENT_UNSUPPORTED',
      `cannot read partitions directly with this kafkajs: ${detail}`,
      {
        context: { component: 'partition-reader' },
        fix: 'pin kafkajs to 2.2.x (package.json), or adapt runtime/kafka/partition-reader.ts to the new internals',
        cause,
      },
    );
  }
}

/** A direct partition read (offsets or records) failed. Retriable: leaders move, brokers restart. */
export class KafkaReadError extends StsError {
  constructor(topic: string, detail: string, cause?: unknown) {
    super('STS_KAFKA_READ_FAILED', `cannot read ${topic}: ${detail}`, {
      context: { topic },
      fix: 'check that the topic exists (npx sts topology --check) and the broker is up (npx sts status)',
      cause,
    });
  }
}

/** Topics were created but their partitions have no leader yet. Retriable: a broker that is
 * still starting or catching up on metadata will elect them. */
export class TopicsNotReadyError extends StsError {
  constructor(topics: string[], detail: string) {
    super(
      'STS_TOPICS_NOT_READY',
      `topics ${topics.slice(0, 3).join(', ')}${topics.length > 3 ? ` and ${topics.length - 3} more` : ''} have no leaders: ${detail}`,
      {
        context: { topic: topics[0] },
        fix: 'check that the broker is up and its controller quorum is healthy (npx sts status; the broker log is kafka/server.log under STS_DATA_DIR)',
      },
    );
  }
}
