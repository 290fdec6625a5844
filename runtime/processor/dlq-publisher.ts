import {
  ConfigResourceTypes,
  type IHeaders,
  type Kafka,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import { DlqPublishError, RetriesExhaustedError } from './processor-errors';
import { dlqTopic } from '../topology/types';
import { errorCode } from './retry-policy';

/** DLQ headers; `sts dlq list/replay` and ops read these names. */
export const DLQ_HEADERS = {
  code: 'sts-error-code',
  message: 'sts-error-message',
  /** For STS_RETRIES_EXHAUSTED: the code of the last retriable error. */
  causeCode: 'sts-error-cause-code',
  topic: 'sts-original-topic',
  partition: 'sts-original-partition',
  offset: 'sts-original-offset',
  timestamp: 'sts-original-timestamp',
  processor: 'sts-processor',
  /**
   * Set when the letter could not carry the original within the DLQ topic's size limit: says what
   * was left out and why. The original stays in its topic at the coordinates above.
   */
  truncated: 'sts-dlq-truncated',
} as const;

/** Cap of the error message header, in UTF-8 bytes: headers are not a log. */
export const DLQ_ERROR_TEXT_BYTES = 2000;

/**
 * Bytes a letter needs beyond its key, value and header text: the record's own framing (length,
 * attributes, timestamp and offset deltas, varint lengths per header) and a share of the record
 * batch header (61 bytes). Generous on purpose: an estimate that is too low is a letter the broker
 * rejects with MESSAGE_TOO_LARGE on every retry.
 */
const RECORD_OVERHEAD = 128;
const HEADER_OVERHEAD = 12;

export interface DeadLetter {
  topic: string;
  partition: number;
  message: KafkaMessage;
  error: unknown;
}

interface Letter {
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

export interface DlqPublisherOptions {
  /**
   * Upper bound of one letter on the producer side (bytes); the DLQ topic's max.message.bytes,
   * read from the broker, lowers it. Default 1,000,000 (below the broker default of 1,048,588).
   */
  maxMessageBytes?: number;
}

const byteLength = (v: unknown): number =>
  v === undefined || v === null ? 0 : Buffer.isBuffer(v) ? v.length : Buffer.byteLength(String(v));

/** Size of a letter as the broker counts it, over-estimated (see RECORD_OVERHEAD). */
export function letterBytes(l: Letter): number {
  let n = RECORD_OVERHEAD + byteLength(l.key) + byteLength(l.value);
  for (const [k, v] of Object.entries(l.headers)) {
    const values = Array.isArray(v) ? v : [v];
    for (const x of values) n += HEADER_OVERHEAD + Buffer.byteLength(k) + byteLength(x);
  }
  return n;
}

/** `text` cut to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, max: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= max) return text;
  let end = Math.max(0, max - 3);
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return `${buf.subarray(0, end).toString('utf8')}...`;
}

/**
 * Publishes records that cannot be processed to `<topic>.dlq`, byte for byte: the original key,
 * value and headers, plus the error and the original coordinates, so a replay produces exactly
 * the input that failed. The producer is idempotent (acks=all): a broker retry cannot duplicate
 * a dead letter. A crash between the DLQ publish and the offset commit can, by design: the DLQ
 * is at-least-once, and the coordinates headers identify duplicates.
 *
 * Every letter fits the DLQ topic's max.message.bytes: a letter the broker refuses as too large
 * would be retried forever and hold its partition. The error text is capped; if the original
 * still does not fit, the letter drops the original headers, or the value, or both, and the key, and
 * says so in `sts-dlq-truncated`: the coordinates point at the original, which stays in its topic.
 * Letters are sent in requests that each fit the limit too.
 */
export class DlqPublisher {
  private readonly producer: Producer;
  private connected?: Promise<void>;
  private readonly limits = new Map<string, Promise<number>>();
  private readonly maxMessageBytes: number;

  constructor(
    private readonly kafka: Kafka,
    private readonly processor: string,
    opts: DlqPublisherOptions = {},
  ) {
    this.maxMessageBytes = opts.maxMessageBytes ?? 1_000_000;
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
    const byTopic = new Map<string, Letter[]>();
    for (const l of letters) {
      const target = dlqTopic(l.topic);
      const list = byTopic.get(target) ?? [];
      list.push(fitLetter(this.letterOf(l), await this.budget(target)));
      byTopic.set(target, list);
    }
    try {
      for (const [topic, list] of byTopic) {
        const budget = await this.budget(topic);
        // One request per group of letters that together fit: letters of one partition in one
        // request form one record batch, and the broker applies max.message.bytes to the batch.
        for (let i = 0; i < list.length;) {
          const group: Letter[] = [];
          let bytes = 0;
          while (
            i < list.length &&
            (group.length === 0 || bytes + letterBytes(list[i]!) <= budget)
          ) {
            bytes += letterBytes(list[i]!);
            group.push(list[i++]!);
          }
          await this.producer.send({ topic, acks: -1, messages: group });
        }
      }
    } catch (err) {
      throw new DlqPublishError([...byTopic.keys()].join(','), err);
    }
  }

  private letterOf(l: DeadLetter): Letter {
    const err = l.error as { message?: unknown } | null;
    const headers: IHeaders = {
      ...(l.message.headers ?? {}),
      [DLQ_HEADERS.code]: errorCode(l.error),
      [DLQ_HEADERS.message]: truncateUtf8(String(err?.message ?? l.error), DLQ_ERROR_TEXT_BYTES),
      [DLQ_HEADERS.topic]: l.topic,
      [DLQ_HEADERS.partition]: String(l.partition),
      [DLQ_HEADERS.offset]: l.message.offset,
      [DLQ_HEADERS.timestamp]: l.message.timestamp,
      [DLQ_HEADERS.processor]: this.processor,
    };
    if (l.error instanceof RetriesExhaustedError) headers[DLQ_HEADERS.causeCode] = l.error.lastCode;
    return { key: l.message.key, value: l.message.value, headers };
  }

  /**
   * Bytes one letter (and one request) to `topic` may take: the topic's max.message.bytes as the
   * broker reports it, capped by maxMessageBytes, less a margin for the record batch framing.
   * Read once per topic; if the broker cannot say, the producer-side cap alone.
   */
  private budget(topic: string): Promise<number> {
    let limit = this.limits.get(topic);
    if (!limit) {
      limit = this.topicLimit(topic).then(
        (topicMax) => Math.min(this.maxMessageBytes, topicMax ?? Number.POSITIVE_INFINITY) - 512,
      );
      this.limits.set(topic, limit);
    }
    return limit;
  }

  private async topicLimit(topic: string): Promise<number | undefined> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const res = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] },
        ],
      });
      const value = res.resources[0]?.configEntries.find(
        (e) => e.configName === 'max.message.bytes',
      )?.configValue;
      const n = Number(value);
      return Number.isInteger(n) && n > 0 ? n : undefined;
    } catch {
      // Unknown limit: the producer-side cap still bounds every letter; the next publish asks again.
      this.limits.delete(topic);
      return undefined;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect().catch(() => undefined);
  }
}

/**
 * The letter cut down until it fits `budget`, recorded in `sts-dlq-truncated`: first the original
 * headers (trace context, mostly), then the value instead (a replay needs it most), then both,
 * then the key. The error and coordinate headers always stay (a few hundred bytes), so every
 * letter still says what failed and where the original is.
 */
export function fitLetter(letter: Letter, budget: number): Letter {
  const size = letterBytes(letter);
  if (size <= budget) return letter;
  const ours = new Set<string>(Object.values(DLQ_HEADERS));
  const own = Object.fromEntries(Object.entries(letter.headers).filter(([k]) => ours.has(k)));
  const steps: Array<[string, Letter]> = [
    ['headers', { key: letter.key, value: letter.value, headers: own }],
    ['value', { ...letter, value: null }],
    ['value,headers', { key: letter.key, value: null, headers: own }],
    ['value,headers,key', { key: null, value: null, headers: own }],
  ];
  let fitted = letter;
  for (const [dropped, candidate] of steps) {
    const reason = `dropped ${dropped}: the letter of ${size} bytes exceeds the DLQ limit of ${budget} bytes; the original is at the sts-original-* coordinates`;
    fitted = { ...candidate, headers: { ...candidate.headers, [DLQ_HEADERS.truncated]: reason } };
    if (letterBytes(fitted) <= budget) return fitted;
  }
  // Only our own headers and no payload: a few hundred bytes, under any real broker limit.
  return fitted;
}
