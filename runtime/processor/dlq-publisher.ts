import type { IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { DlqPublishError } from '../errors';
import { dlqTopic } from '../topology/types';
import { errorCode } from './retry-policy';

/** DLQ headers; `sts dlq list/replay` and ops read these names. */
export const DLQ_HEADERS = {
  code: 'sts-error-code',
  message: 'sts-error-message',
  topic: 'sts-original-topic',
  partition: 'sts-original-partition',
  offset: 'sts-original-offset',
  timestamp: 'sts-original-timestamp',
  processor: 'sts-processor',
} as const;

export interface DeadLetter {
  topic: string;
  partition: number;
  message: KafkaMessage;
  error: unknown;
}

/**
 * Publishes records that cannot be processed to `<topic>.dlq`, byte for byte: the original key,
 * value and headers, plus the error and the original coordinates, so a replay produces exactly
 * the input that failed. The producer is idempotent (acks=all): a broker retry cannot duplicate
 * a dead letter. A crash between the DLQ publish and the offset commit can, by design: the DLQ
 * is at-least-once, and the coordinates headers identify duplicates.
 */
export class DlqPublisher {
  private readonly producer: Producer;
  private connected?: Promise<void>;

  constructor(
    kafka: Kafka,
    private readonly processor: string,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
  }

  async publish(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    this.connected ??= this.producer.connect().catch((err) => {
      this.connected = undefined;
      throw new DlqPublishError(dlqTopic(letters[0]!.topic), err);
    });
    await this.connected;
    const byTopic = new Map<
      string,
      Array<{ key: Buffer | null; value: Buffer | null; headers: IHeaders }>
    >();
    for (const l of letters) {
      const err = l.error as { message?: unknown } | null;
      const headers: IHeaders = {
        ...(l.message.headers ?? {}),
        [DLQ_HEADERS.code]: errorCode(l.error),
        // Headers are not a log: cap the text so a huge stack cannot exceed the max message size.
        [DLQ_HEADERS.message]: String(err?.message ?? l.error).slice(0, 2000),
        [DLQ_HEADERS.topic]: l.topic,
        [DLQ_HEADERS.partition]: String(l.partition),
        [DLQ_HEADERS.offset]: l.message.offset,
        [DLQ_HEADERS.timestamp]: l.message.timestamp,
        [DLQ_HEADERS.processor]: this.processor,
      };
      const target = dlqTopic(l.topic);
      const list = byTopic.get(target) ?? [];
      list.push({ key: l.message.key, value: l.message.value, headers });
      byTopic.set(target, list);
    }
    try {
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (err) {
      throw new DlqPublishError([...byTopic.keys()].join(','), err);
    }
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect().catch(() => undefined);
  }
}
