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
  'upload-ingestion': `**Against the revision before the boundary hardening** (9834fb4; two pairs of five rounds on
2026-12-07, "Against an earlier revision" below). The pipeline took 1.03× as long as base (medians 17.8 s
against 17.3 s; single rounds 15.0–18.7 s against 15.3–19.3 s), the server used 0.97× the CPU, and the
ingestion process 1.13×; against each round's own LOAD DATA the ratio was 1.12× base's (1.79 against
1.59), LOAD DATA having run faster in head's rounds. The ingestion's extra CPU is the checks the
hardening added per row and per record, from a CPU profile of each side at 1M rows (\`npx tsx bench/upload-ingestion.ts 1000000 --private-mysql 4G --cpu-prof DIR\`):
the character and code checks of each row's text (about 0.3 s), the Avro bounds walk of every chunk
record (0.2 s), the money bounds (0.1 s), and more work for V8's collector threads (about 0.7 s by
/proc thread times). Two things were taken back on the way, each found side by side: the payout
bound's admission read the balances of every account a chunk touched (a SELECT per chunk, which had
the server at 1.07–1.21× and the ingestion at 1.28–1.35×): it now books without reading and one
guarded upsert per transaction checks that no account can reach its bound, redoing the batch reading
balances only when one might; and an int64 check that allocated a BigInt per value, a keyed loop per
item, a Map per account and getter calls for the contract's constants. A 32 MB young generation did
not reduce the CPU (tried again, see (c) below).

Where the time goes (CPU per 1M rows, 2 shared cores): the machine is the limit, so every
CPU second counts. mariadbd 17–26 s (LOAD DATA alone: about 14), the ingestion process 8–13 s, intake
3–5 s, the broker under 1 s. What moved it from about 2.0× to 1.4–1.7× LOAD DATA:
(1) mysql2 scanned each multi-megabyte statement for placeholders even with no values, a fifth of
ingestion's CPU; (2) the ledger writes items with LOAD DATA LOCAL streamed from memory instead of
multi-row INSERT, which took a fifth off the server's CPU (no SQL to parse); (3) less garbage per
row and, for capped processors, a heap that grows 3× the live set between full collections (68
mark-compacts per 1M rows down to 22); (4) the seller check's IN lists stay under MariaDB's
1000-value conversion threshold and name their index: with 5000-id lists, some runs spent three
times the server CPU inside the joins MariaDB built from them. The rest is work LOAD DATA does not
do: the seller check (about 1.8 CPU s per 1M order ids read by id; dense runs cost less, below),
balance upserts, checkpoints, and three
writers into the same indexes at once. On the machine's shared MariaDB (128 MB buffer pool) the
rows come from disk: 26,577 rows/s at 2.3× in the run of ${HANDWRITTEN_DATE} 06:22 UTC, before
these changes.

**The ≤ 1.5× target is met in the run above, with little margin.** The five-round run shown here
gave a median of 1.45× (rounds 1.27–1.53×). The code before the seller check's range read (below)
measured 1.66× over five rounds a day earlier, and 1.42–1.54× in twelve rounds of separate runs on
the day of this run. The pipeline took about the same time on both days (17.5–20.5 s against
17.8–21.6 s); LOAD DATA moved (11–12 s against 13–15 s). The ratio therefore depends on how fast
the reference runs on the machine that day. Every process's CPU seconds for the same work moved by
±25% between rounds, the reference's server included, so judge the ratio over several runs, never
one.

The seller check reads a dense run of order ids (64 or more, neighbours at most 16 apart) as one
range of ix_billing_item_order, using the index alone, and looks up by id only the orders found
there. A crowded range or a sparse set of ids is read by id as before. Side by side, alternating,
four rounds each: mariadbd 19.6 CPU-s per 1M rows against 20.2.

Tried and not kept, each measured side by side: (a) one, two or three partitions at once: one is
clearly worse (2.1–2.5×), two and three are indistinguishable, and even one partition at once
leaves the server at 19.2 CPU-s against 20.2, so three writers contend for about 1 CPU-s; (b) four
or eight chunks per transaction, which cut the balance upserts; (c) a 32 or 64 MB V8 young
generation: no less CPU, and 64 MB takes the ingestion process to 304 MB RSS (32 MB tried again on
2026-12-07 against 9834fb4: ingestion CPU 1.35× base with it, 1.33× without); (d) chunks of
consecutive rows sent round-robin instead of by seller: the server's CPU did not move
(20.0–21.2 against 20.2–20.8 s), although one LOAD DATA of the file reordered the way seller
chunks interleave costs 15.3 CPU-s against 12.7 in file order; (e) sending the seller check's ids
through LOAD DATA LOCAL into a MEMORY table and probing the index with one join per chunk: under
0.5 CPU-s saved.

Where the rest goes, from one run of three configurations, three rounds each, the work switched off
by a temporary switch that is not in the code: as shipped then, 1.66× median (16.7–19.7 s);
without the seller check, 1.32× (15.1–17.8 s); without the balance upserts, 1.59× (16.7–17.7 s).
LOAD DATA into an empty table is not faster than into one holding a row (11.0–11.8 s both), so the
reference gets no empty-table shortcut.`,
  'settlement-aggregation': `**Against the revision before the boundary hardening** (9834fb4, "Against an earlier revision"
below): head/base 1.04 for the processor and 1.09 for the naive baseline in the two pairs of 2026-12-07,
after the order-event checks counted code points only for ids longer than their limit and read their
limits once. An earlier comparison the same day had head at 0.73–0.92 of base in three pairs, while a
run of each by hand had it at 1.04; with the same statements on both sides (Com_* counters over a
100k-event run agree within 50 of 12,300), the spread is the machine's, and the figure did not regress.
`,
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
on a quiet machine only.

**The bank-file rail** (2026-12-07, the run above): 100,000 payouts in 58.8 s, 0.68 of the gateway
rail's rate in the same run. The work is in four steps, one after the other: the sender writes,
verifies and submits 20 files of 5,000 (TRY for 5,000 payouts per transaction), the simulator
fsyncs its journal once per file, and ingestion applies 20 status reports and 20 debit
notifications, each in one transaction that finishes 5,000 payouts. No step was profiled yet; the
figure has no target of its own (a bank settles in hours, not seconds), and it is here for its ratio.`,
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
by \`test/processors/commission/commission-round-trips.test.ts\`) took it from about 1,050 to about 13,500
requests/s for completed orders and 8,400/s with 15% refunds (100k requests through Kafka, load
about 2.3). This was measured with a scratch script, not a committed benchmark.

## \`npm run demo\` wall time (hand-measured, ${HANDWRITTEN_DATE})

243,034 order events for SG and MY, a 100,000-row upload (1,000 bad rows), 252,176 commission
items, two closes with 10,050 payouts, all paid through the simulator, reconciliation clean:
**2 min 2 s** end to end with the test suite running beside it, and **1 min 24 s** from a fresh
clone on a quiet stack (target: under 5 minutes). The end-to-end benchmark above runs the same
demo at the issue's size and times it by phase.`;
