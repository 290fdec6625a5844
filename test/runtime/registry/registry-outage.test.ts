import http from 'node:http';
import net from 'node:net';
import { AvroCodec } from '../../../runtime/registry/avro-codec';
import { RegistryClient } from '../../../runtime/registry/registry-client';
import { useTestResources } from '../../fixtures/resources';
import { effectProcessor, effectSummary, produceEffects } from '../../fixtures/effect-processor';
import {
  effectSetup,
  endOffsets,
  offsetsAtEnd,
  startInProcess,
  waitFor,
} from '../../fixtures/processor-harness';

/**
 * A registry that is down, slow or failing is the registry's problem, not the record's: every
 * call through RegistryClient classifies it the same way (retriable STS_REGISTRY_UNAVAILABLE), the
 * codec passes it on instead of calling the record undecodable, and a real processor retries until
 * the registry is back and then applies everything, with nothing dead-lettered. A 404 (an id the
 * registry does not have) stays a decode failure.
 *
 * The failing registry is a small HTTP server on 127.0.0.1 in front of the real one: it answers
 * 503, or hangs, or forwards, as the test says.
 */
const r = useTestResources();

type Mode = 'forward' | '503' | 'hang' | 'garbage' | 'huge' | 'endless';

async function frontRegistry(upstream: string) {
  let mode: Mode = '503';
  let requests = 0;
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    requests++;
    if (mode === '503')
      return void res.writeHead(503, { 'content-type': 'text/plain' }).end('registry is starting');
    if (mode === 'hang') return void hung.push(res);
    if (mode === 'garbage')
      return void res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<html>proxy login</html>');
    // Declares a body past the client's limit (and would send it).
    if (mode === 'huge')
      return void res
        .writeHead(200, { 'content-type': 'application/json', 'content-length': String(8 << 20) })
        .end(' '.repeat(8 << 20));
    // Streams without a declared length until the client hangs up (at most 64 MiB, so the test ends).
    if (mode === 'endless') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 1024 && !res.destroyed) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      return void pump();
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void fetch(`${new URL(upstream).origin}${req.url}`, {
        method: req.method,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        body: req.method === 'GET' ? undefined : Buffer.concat(chunks),
      }).then(async (up) =>
        res.writeHead(up.status, { 'content-type': 'application/json' }).end(await up.text()),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.defer(
    () =>
      new Promise<void>((resolve) => {
        for (const h of hung) h.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/apis/ccompat/v7`,
    set: (m: Mode) => void (mode = m),
    requests: () => requests,
  };
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('registry failures are classified once, everywhere', () => {
  test('refused, 503, timed out, oversized and unparseable answers are retriable; 404 is not', async () => {
    const s = await effectSetup(r, 1);
    const front = await frontRegistry(r.config.schemaRegistryUrl);
    const client = new RegistryClient(front.url, { timeoutMs: 300, maxResponseBytes: 256 * 1024 });
    const refused = new RegistryClient(`http://127.0.0.1:${await closedPort()}/apis/ccompat/v7`, {
      timeoutMs: 300,
    });
    const retriable = {
      code: 'STS_REGISTRY_UNAVAILABLE',
      retriable: true,
      fix: expect.stringMatching(/sts status/),
    };
    const subject = `${s.topic}-value`;
    for (const call of [
      () => refused.rawSchema(s.schemaId),
      () => refused.latestId(subject),
      () => refused.setCompatibility(subject, 'BACKWARD'),
    ])
      await expect(call()).rejects.toMatchObject({
        ...retriable,
        message: expect.stringMatching(/ECONNREFUSED/),
      });
    for (const [mode, detail] of [
      ['503', /HTTP 503 registry is starting/],
      ['hang', /no answer within 300 ms/],
      ['garbage', /not JSON/],
      ['huge', /longer than 262144 bytes \(content-length 8388608\)/],
      ['endless', /longer than 262144 bytes \(\d+ bytes received so far\)/],
    ] as const) {
      front.set(mode);
      await expect(client.rawSchema(s.schemaId)).rejects.toMatchObject({
        ...retriable,
        message: expect.stringMatching(detail),
      });
      await expect(client.latestId(subject)).rejects.toMatchObject({
        ...retriable,
        message: expect.stringMatching(detail),
      });
      // The codec passes a registry outage on as retriable: the record is not blamed.
      await expect(
        new AvroCodec(client).decode(
          await s.codec.encode(s.schemaId, { effect_key: 1n, amount_minor: 1n, note: 'x' }),
        ),
      ).rejects.toMatchObject(retriable);
    }
    front.set('forward');
    // A failed lookup is not cached: the same client succeeds once the registry answers.
    expect(await client.rawSchema(s.schemaId)).toContain('EffectEvent');
    expect(await client.latestId(subject)).toBe(s.schemaId);
    await expect(client.rawSchema(2_000_000_000)).rejects.toMatchObject({
      code: 'STS_SCHEMA_UNKNOWN',
      retriable: false,
    });
    await expect(client.latestId(`${s.topic}-nothing-value`)).rejects.toMatchObject({
      code: 'STS_SCHEMA_UNKNOWN',
      retriable: false,
    });
    const unknownId = Buffer.from([0, 0x77, 0x35, 0x94, 0x00, 0x02]); // id 2,000,000,000
    await expect(new AvroCodec(client).decode(unknownId)).rejects.toMatchObject({
      code: 'STS_DECODE_FAILED',
      retriable: false,
    });
  });
});

test('a processor whose registry hangs, then answers 503, retries, dead-letters nothing, and applies everything once it recovers', async () => {
  const s = await effectSetup(r, 2);
  const total = await produceEffects(r.kafka, s.codec, s.schemaId, s.topic, 0, 30);
  const front = await frontRegistry(r.config.schemaRegistryUrl);
  const registry = new RegistryClient(front.url, { timeoutMs: 1000 });
  const codec = new AvroCodec(registry);
  await startInProcess(
    r,
    effectProcessor(s.topic, s.group),
    { db: s.db, codec, registry },
    { retryInitialDelayMs: 100, retryMaxDelayMs: 500, retryMaxAttempts: 3 },
  );
  // First it hangs (every lookup times out), then it answers 503: several retry bounds of 3
  // attempts each pass in both, and nothing is dead-lettered. Before the registry client
  // classified its failures, the timeout's AbortError reached the codec unclassified and every
  // record became a decode failure.
  front.set('hang');
  await waitFor('retries against the hanging registry', async () => front.requests() >= 5, 30_000);
  front.set('503');
  const seen = front.requests();
  await waitFor(
    'retries against the failing registry',
    async () => front.requests() >= seen + 5,
    30_000,
  );
  expect((await effectSummary(s.db)).rows).toBe(0);
  expect([...(await endOffsets(r.kafka, s.dlq)).values()].reduce((a, b) => a + b, 0n)).toBe(0n);
  front.set('forward');
  await waitFor('offsets at the end', () => offsetsAtEnd(r.kafka, s.group, s.topic));
  expect(await effectSummary(s.db)).toEqual({ rows: 30, total, balance: total });
  expect([...(await endOffsets(r.kafka, s.dlq)).values()].reduce((a, b) => a + b, 0n)).toBe(0n);
});
