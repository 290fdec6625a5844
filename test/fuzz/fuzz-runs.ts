import fc from 'fast-check';

/**
 * How hard the property suites push. `npm test` runs each property a bounded number of times so CI
 * stays inside its budget; `npm run fuzz` raises STS_FUZZ_RUNS for a long run. Every run prints its
 * seed, and STS_FUZZ_SEED (with STS_FUZZ_PATH from fast-check's failure report) replays a failure
 * exactly.
 *
 * Inputs: STS_FUZZ_RUNS (default 60), STS_FUZZ_SEED (default: random per run),
 * STS_FUZZ_CASE_TIMEOUT_MS (default 60000).
 */
export const FUZZ_RUNS = Math.max(1, Number(process.env.STS_FUZZ_RUNS ?? 60));
export const FUZZ_SEED =
  process.env.STS_FUZZ_SEED === undefined
    ? Date.now() ^ (Math.random() * 2 ** 31)
    : Number(process.env.STS_FUZZ_SEED);

/** fast-check parameters for one property: the shared seed and run count, scaled by `weight`. */
export function fuzzParams<T>(name: string, weight = 1): fc.Parameters<T> {
  const numRuns = Math.max(1, Math.round(FUZZ_RUNS * weight));
  process.stdout.write(
    `fuzz ${name}: ${numRuns} runs, seed ${FUZZ_SEED} (replay with STS_FUZZ_SEED=${FUZZ_SEED})\n`,
  );
  return {
    seed: FUZZ_SEED,
    numRuns,
    ...(process.env.STS_FUZZ_PATH ? { path: process.env.STS_FUZZ_PATH } : {}),
    // A case that hangs is a failure, never a pass: each async case gets a bounded time (fast-check
    // fails the property on the first case past it). A synchronous case cannot be interrupted
    // in-process, so the synchronous suites bound the work of each case themselves.
    timeout: Number(process.env.STS_FUZZ_CASE_TIMEOUT_MS ?? 60_000),
  };
}
