/**
 * Child process of bounded-decode-memory.test.ts, run with a small heap (--max-old-space-size)
 * and --expose-gc. Decodes crafted hostile payloads through the real codec (schemas by id from
 * the real registry), interleaved with valid ones, for many rounds, and prints one JSON line:
 * heap after GC at the start and the end, outcomes by error code. With BOUNDED_MODE=unbounded it
 * hands the same bodies straight to avsc, as the codec did before the bounds walk (it dies).
 *
 * Inputs: REGISTRY_URL, CHUNK_ID and NULLS_ID (schema ids of upload-chunk and a record with an
 * array of nulls), BOUNDED_MODE (bounded | unbounded), ROUNDS.
 */
import { AvroCodec } from '../../runtime/registry/avro-codec';
import { RegistryClient } from '../../runtime/registry/registry-client';
import { StsError } from '../../runtime/errors';

function varint(n: bigint): Buffer {
  let u = n >= 0n ? n << 1n : ((-n - 1n) << 1n) | 1n;
  const out: number[] = [];
  do {
    let b = Number(u & 0x7fn);
    u >>= 7n;
    if (u !== 0n) b |= 0x80;
    out.push(b);
  } while (u !== 0n);
  return Buffer.from(out);
}

const header = (id: number) => {
  const h = Buffer.from([0, 0, 0, 0, 0]);
  h.writeUInt32BE(id, 1);
  return h;
};

async function main() {
  const registry = new RegistryClient(process.env.REGISTRY_URL!);
  const codec = new AvroCodec(registry);
  const chunkId = Number(process.env.CHUNK_ID);
  const nullsId = Number(process.env.NULLS_ID);
  const rounds = Number(process.env.ROUNDS ?? 200);
  const chunk = header(chunkId);
  const nulls = header(nullsId);
  const upload = varint(652024209997893632n);
  const hostile: Array<[string, Buffer]> = [
    ['rows: 2^31 records', Buffer.concat([chunk, upload, varint(1n), varint(0n), varint(2n ** 31n)])],
    ['rows: 2^60 records', Buffer.concat([chunk, upload, varint(1n), varint(0n), varint(2n ** 60n)])],
    ['columns: 2^31 strings', Buffer.concat([chunk, upload, varint(1n), varint(2n ** 31n)])],
    ['rows: negative count, 2^50-byte block', Buffer.concat([chunk, upload, varint(1n), varint(0n), varint(-(2n ** 31n)), varint(2n ** 50n)])],
    ['xs: 2^32-1 nulls', Buffer.concat([nulls, varint(2n ** 32n - 1n), varint(0n)])],
    ['xs: 2^60 nulls', Buffer.concat([nulls, varint(2n ** 60n), varint(0n)])],
    ['raw: a 2^62-byte string', Buffer.concat([chunk, upload, varint(1n), varint(0n), varint(1n), varint(1n), varint(2n ** 62n)])],
    ['upload_id: 11-byte varint', Buffer.concat([chunk, Buffer.from('ffffffffffffffffffff01', 'hex')])],
  ];
  const valid = await codec.encode(chunkId, {
    upload_id: 652024209997893632n,
    chunk_index: 1,
    columns: ['external_ref'],
    rows: [{ row_number: 1n, raw: 'ref-1,652024209997893632,SG,SGD,100,ADJUSTMENT', problem: null }],
  });
  if (process.env.BOUNDED_MODE === 'unbounded') {
    // What the codec did before: the writer type's fromBuffer on the body, nothing else.
    const type = await codec.typeFor(chunkId);
    const started = Date.now();
    try {
      type.fromBuffer(hostile[0]![1].subarray(5));
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ threw: (err as Error).message, ms: Date.now() - started })}\n`);
    }
    return;
  }
  const gc = (globalThis as { gc?: () => void }).gc!;
  const outcomes: Record<string, number> = {};
  let heapStart = 0;
  let maxMs = 0;
  for (let round = 0; round < rounds; round++) {
    for (const [, body] of hostile) {
      const t0 = Date.now();
      try {
        await codec.decode(body, { offset: String(round) });
        outcomes.decoded = (outcomes.decoded ?? 0) + 1;
      } catch (err) {
        const code = err instanceof StsError ? err.code : `non-sts ${(err as Error).name}`;
        outcomes[code] = (outcomes[code] ?? 0) + 1;
      }
      maxMs = Math.max(maxMs, Date.now() - t0);
      const ok = await codec.decode(valid);
      if ((ok.value as { chunk_index: number }).chunk_index !== 1) throw new Error('valid record decoded wrong');
      outcomes.valid = (outcomes.valid ?? 0) + 1;
    }
    if (round === 9) {
      gc();
      heapStart = process.memoryUsage().heapUsed;
    }
  }
  gc();
  const heapEnd = process.memoryUsage().heapUsed;
  // The densest legitimate record: a chunk near the size limit of minimal rows (3 bytes each).
  const rows = Array.from({ length: 300_000 }, (_, i) => ({ row_number: BigInt(i % 60), raw: '', problem: null }));
  const dense = await codec.encode(chunkId, { upload_id: 1n, chunk_index: 0, columns: [], rows });
  rows.length = 0;
  gc();
  const before = process.memoryUsage().heapUsed;
  const held = await codec.decode(dense);
  gc();
  const after = process.memoryUsage().heapUsed;
  const n = (held.value as { rows: unknown[] }).rows.length;
  process.stdout.write(
    `${JSON.stringify({ heapStart, heapEnd, maxMs, outcomes, dense: { bytes: dense.length, rows: n, retained: after - before } })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(2);
});
