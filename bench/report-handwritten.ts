/**
 * The hand-written parts of docs/BENCHMARKS.md, kept verbatim by the report: measurements no
 * benchmark regenerates (stack start-up, commission, the demo's wall time), notes from profiles,
 * and the figures measured by hand before `npm run bench` wrote this file. The report labels all
 * of it as hand-measured with its date, so it never reads as a figure of the latest run. When a
 * benchmark's own JSON exists, its FALLBACK is no longer shown; its NOTES still are.
 */

export const HANDWRITTEN_DATE = '2026-11-22';

/** Profile notes and explanations that outlive any one run. */
export const NOTES: Readonly<Record<string, string>> = {
  'upload-ingestion': `Where the time goes (profiles of ${HANDWRITTEN_DATE}): the pipeline is bound by ingestion, not intake
(intake alone publishes 200k rows in 1.2–3.5 s). MariaDB's own cost of the multi-row INSERT is
12–13 µs per row, close to LOAD DATA's; prepared statements and LOAD DATA into a staging table
followed by INSERT … SELECT were measured and gave nothing. The rest is per-row work LOAD DATA does
not do (the seller check, about 3.5 µs per row; balance upserts, about 5 µs per account; the chunk
checkpoint) and the ingestion process's CPU on two shared cores. A batch's chunks used to hold the
upload row's lock until commit, which serialised the partitions; they now update it once, last.
On the machine's shared MariaDB (128 MB buffer pool) the same 1M rows ran at 26,577 rows/s, 2.3×
LOAD DATA (60,388 rows/s), in the run of ${HANDWRITTEN_DATE} 06:22 UTC. Two runs on the private 4G
server the same morning: 37,685 rows/s at 1.49× LOAD DATA (56,200 rows/s, before the heap cap),
and 40,641 rows/s at 2.23× (90,433 rows/s). LOAD DATA's own time moves by 60% between runs on this
shared box, so the ratio target is met in some runs and not in others: not reliably met.`,
  'settlement-close': `On the machine's shared MariaDB, whose buffer pool is 128 MB, the same 1M-seller close took 262 s
(${HANDWRITTEN_DATE}: payouts 103.5 s, file 86.4 s, relay 72.1 s) with the node process mostly idle:
10M items are a few GB, and every page came from disk. Size the buffer pool for the data.`,
};

/** Figures measured by hand before this report existed, shown until `npm run bench` replaces them. */
export const FALLBACK: Readonly<Record<string, string>> = {
  'runtime-throughput': `Measured ${HANDWRITTEN_DATE}, while other test suites ran on the same box:

| run | records | records/s |
|---|---:|---:|
| runtime: batched transaction (up to 2000 records), then offsets | 200,000 | 92,635 |
| naive baseline: one transaction and one offset commit per message | 5,000 | 650 |
| **ratio** | | **142×** |

Targets (issue 3): ≥ 30k records/s, ≥ 10× the naive baseline.`,
  'gateway-simulator': `\`npx tsx bench/gateway-simulator.ts [requests] [concurrency]\`: 2,473 requests/s at concurrency 64,
each execution fsync'd with group commit (largest group 63), against 314/s one at a time (7.9×).`,
  'upload-ingestion': `Measured ${HANDWRITTEN_DATE} with 200,000 rows while other suites ran (load 3–7):

| run | seconds | rows/s |
|---|---:|---:|
| LOAD DATA LOCAL INFILE into a copy of billing_item | 2.4 | 82,695 |
| pipeline, end to end | 21.9 | 9,132 |
| **ratio (pipeline / LOAD DATA)** | **9.1×** | |

Peak RSS: intake process 189 MB, ingestion process 295 MB. Targets (issue 4): ≤ 1.5× LOAD DATA,
≥ 30k rows/s, ≤ 300 MB per process — **the speed targets are not met.** The 1M-row figure has not
been measured.`,
  'settlement-aggregation': `Measured ${HANDWRITTEN_DATE} with 200,000 events while the CI suite ran on the same two cores:

| run | events/s |
|---|---:|
| Kafka ConsumerPerformance, same topic (consume only) | 76,220 |
| settlement-aggregation, exactly-once effects | 8,400 |
| naive baseline: one event per transaction (3,000 events) | 344 |
| **aggregation / ConsumerPerformance** | **0.11** |
| **aggregation / naive** | **24×** |

Target (issue 5): ≥ 25k events/s — **not met** on this box.`,
  'settlement-close': `Measured ${HANDWRITTEN_DATE} at 50,000 sellers × 10 items (load about 6):

| phase | seconds |
|---|---:|
| payouts, carry-forward items, outbox rows | 4.8 |
| pain.001 written, verified, released (16.6 MB) | 12.2 |
| outbox relay publishing 50,000 events | 7.9 |
| **total** | **25.0** |

The 1M-seller run has not been made. Scaling these phases linearly gives about 500 s against the
120 s target (issue 5): **the target is not met** yet.`,
  'payment-notify': `100,000 payouts through the gateway simulator at 20 ms simulated latency, beside bare gateway calls
at the same concurrency:

| run | per second |
|---|---:|
| bare gateway calls, concurrency 128 (reference) | 3,715 |
| payment-notify, end to end | 2,069 |
| **ratio** | **0.56** |

The breaker opened 565 ms after an outage began (target ≤ 1 s). Other 100k runs gave 2,207, 2,020,
2,006 and 1,653 payouts/s as load from other suites varied: the target of 2,000/s (issue 6) holds
on a quiet machine only.`,
};

/** The machine as described by hand, shown until a run records it. */
export const MACHINE_FALLBACK = `Described by hand (${HANDWRITTEN_DATE}): 2 vCPU, 24 GiB RAM, Node 20.20, OpenJDK 17.0.15, Kafka 3.9.1
(one KRaft node), MariaDB 10.11.19, Redis 7.0.15.`;

/** Sections of the document that no benchmark generates. */
export const STATIC_SECTIONS = `## Local stack start-up (hand-measured, ${HANDWRITTEN_DATE})

\`time npx sts up\` on a scratch \`STS_DATA_DIR\` and spare ports, with the Maven cache warm:

| step | seconds |
|---|---:|
| Kafka: spawn to first metadata response, first start (includes KRaft format) | 4.3 |
| Kafka: spawn to first metadata response, restart | 3.8 |
| schema registry (Apicurio, kafkasql) ready | 12.3 |
| whole \`sts up\`, first start (jar copy, format, both JVMs, migrations, topics, schemas) | 29.5 |
| whole \`sts up\`, restart | 17.1 |
| \`sts up\` on a running stack (no-op) | 1.4 |

Target (issue 2): Kafka ready in ≤ 30 s with a warm cache.

## Commission (hand-measured, ${HANDWRITTEN_DATE})

Batching the commission processor (a constant 10–12 statements per batch of 2,000 requests, checked
by \`test/commission/commission-round-trips.test.ts\`) took it from about 1,050 to about 13,500
requests/s for completed orders and 8,400/s with 15% refunds (100k requests through Kafka, load
about 2.3). This was measured with a scratch script, not a committed benchmark.

## \`npm run demo\` wall time (hand-measured, ${HANDWRITTEN_DATE})

243,034 order events for SG and MY, a 100,000-row upload (1,000 bad rows), 252,176 commission
items, two closes with 10,050 payouts, all paid through the simulator, reconciliation clean:
**2 min 2 s** end to end with the test suite running beside it, and **1 min 24 s** from a fresh
clone on a quiet stack (target: under 5 minutes). The end-to-end benchmark above runs the same
demo at the issue's size and times it by phase.`;
