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
  'upload-ingestion': `Where the time goes (CPU per 1M rows, 2 shared cores): the machine is the limit, so every
CPU second counts. mariadbd 17–26 s (LOAD DATA alone: about 14), the ingestion process 8–13 s, intake
3–5 s, the broker under 1 s. What moved it from about 2.0× to 1.4–1.7× LOAD DATA:
(1) mysql2 scanned each multi-megabyte statement for placeholders even with no values, a fifth of
ingestion's CPU; (2) the ledger writes items with LOAD DATA LOCAL streamed from memory instead of
multi-row INSERT, which took a fifth off the server's CPU (no SQL to parse); (3) less garbage per
row and, for capped processors, a heap that grows 3× the live set between full collections (68
mark-compacts per 1M rows down to 22); (4) the seller check's IN lists stay under MariaDB's
1000-value conversion threshold and name their index: with 5000-id lists, some runs spent three
times the server CPU inside the joins MariaDB built from them. The rest is work LOAD DATA does not
do: the seller check (about 1.8 CPU s per 1M order ids), balance upserts, checkpoints, and three
writers into the same indexes at once. On the machine's shared MariaDB (128 MB buffer pool) the
rows come from disk: 26,577 rows/s at 2.3× in the run of ${HANDWRITTEN_DATE} 06:22 UTC, before
these changes.

**The ≤ 1.5× target is not reliably met.** The same code, on the same kind of machine, measured
medians of 1.42×–1.46× in three of four three-round runs in one session (the fourth 1.66×); in the
next, 1.69× over nine rounds of separate runs (1.34× to 1.77×) and 1.66× in the five-round run
above. Every process's CPU seconds for the same work moved by ±25% between rounds, the reference's
server included, so a single run's ratio says little. Tried in that second session, two rounds
each, none distinguishable from that noise: one, two or three partitions at once (one is clearly
worse, 2.1–2.5×); four or eight chunks per transaction, which cut the balance upserts; a 32 or
64 MB V8 young generation for both processes. A 32 MB young generation (--max-semi-space-size=32)
for the ingestion process alone gave 1.53× in one five-round run, but side by side, alternating
with the default in four three-round runs, both medians were 1.68× (rounds 1.42–1.78× against
1.48–1.77×), at 254–258 MB peak RSS against 243; not adopted. LOAD DATA into an empty table is not faster than into one holding
a row (11.0–11.8 s both), so the reference gets no empty-table shortcut. Where the extra goes,
from one run of three configurations, three rounds each, the work switched off by a temporary
switch that is not in the code: as shipped, 1.66× median (16.7–19.7 s); without the seller check,
1.32× (15.1–17.8 s; mariadbd about 2 CPU-s and ingestion about 1 CPU-s less per round); without
the balance upserts, 1.59× (16.7–17.7 s). The seller check, one index dive per order id sent as
19 MB of IN lists, is the largest single piece of work LOAD DATA does not do. Its cost is the
dives, not the SQL text: sending the ids through LOAD DATA LOCAL into a MEMORY table and probing
the index with one join per chunk saved under 0.5 CPU-s per 1M rows side by side with the IN
lists (alternating, three rounds each, twice), so it was not kept.`,
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
