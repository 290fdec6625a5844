import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../runtime/config';
import { RegistryClient } from '../../../runtime/registry/registry-client';
import { useTestResources } from '../../fixtures/resources';
import { FIXTURES_DIR } from '../../fixtures/fixtures-dir';

/**
 * The consumer's memory bound, proven in a process with a 64 MiB heap: hostile payloads of a few
 * bytes claiming 2^31 records, 2^60 records, 2^32-1 nulls, a 2^62-byte string or an 11-byte
 * varint are refused by the codec round after round, while valid records between them decode,
 * and the heap does not grow. The same first payload handed straight to avsc (the codec before
 * the bounds walk) kills that process. The densest legitimate record measures the bound's factor:
 * what a decoded value retains per byte of record.
 */
const r = useTestResources();
const CHILD = path.join(FIXTURES_DIR, 'bounded-decode-child.ts');
const HEAP_MB = 64;

function runChild(env: NodeJS.ProcessEnv, timeoutMs = 90_000) {
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }>((resolve, reject) => {
    const started = Date.now();
    const proc = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--expose-gc', '-r', 'tsx/cjs', CHILD], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const registry = new RegistryClient(r.config.schemaRegistryUrl);
  const chunkTopic = await r.topic('bounded-chunk', 1);
  const nullsTopic = await r.topic('bounded-nulls', 1);
  const chunkId = await registry.register(`${chunkTopic}-value`, fs.readFileSync(path.join(PROJECT_ROOT, 'schemas', 'upload-chunk.avsc'), 'utf8'));
  const nullsId = await registry.register(
    `${nullsTopic}-value`,
    JSON.stringify({ type: 'record', name: 'Nulls', namespace: 'sts.test', fields: [{ name: 'xs', type: { type: 'array', items: 'null' } }] }),
  );
  env = { REGISTRY_URL: r.config.schemaRegistryUrl, CHUNK_ID: String(chunkId), NULLS_ID: String(nullsId) };
});

test(`with a ${HEAP_MB} MiB heap, 1,600 hostile payloads are refused, valid records decode, and the heap does not grow`, async () => {
  const res = await runChild({ ...env, BOUNDED_MODE: 'bounded', ROUNDS: '200' });
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as {
    heapStart: number;
    heapEnd: number;
    maxMs: number;
    outcomes: Record<string, number>;
    dense: { bytes: number; rows: number; retained: number };
  };
  // Every hostile payload is a decode failure, nothing else; every valid one decoded.
  expect(out.outcomes).toEqual({ STS_DECODE_FAILED: 1600, valid: 1600 });
  // Flat heap: under 2 MiB of drift over 190 rounds of refusals after the first ten.
  expect(out.heapEnd - out.heapStart).toBeLessThan(2 * 1024 * 1024);
  // A refusal costs no more than a valid decode: no payload took long.
  expect(out.maxMs).toBeLessThan(200);
  // The bound's factor for our densest contract (upload rows of 3 bytes): retained bytes per
  // record byte. Documented as <= 32 x record bytes; measured here so a change that breaks it fails.
  const k = out.dense.retained / out.dense.bytes;
  process.stdout.write(`dense chunk: ${out.dense.bytes} bytes, ${out.dense.rows} rows, retained ${out.dense.retained} bytes (k = ${k.toFixed(1)})\n`);
  expect(out.dense.rows).toBe(300_000);
  expect(k).toBeLessThan(32);
});

test('the same first payload handed straight to avsc, as before the bounds walk, kills that process', async () => {
  const res = await runChild({ ...env, BOUNDED_MODE: 'unbounded' }, 110_000);
  // avsc builds one record per claimed item before it notices the buffer is short: V8 aborts on
  // the heap limit. A consumer doing this restarts onto the same offset, forever.
  expect(res.code).not.toBe(0);
  expect(res.stdout).toBe('');
  expect(res.stderr).toMatch(/heap out of memory/);
}, 120_000);
