import { serverContest } from '../../fixtures/contenders';
import { closeSetup, closeTakenOver, twoClosesOfOneRegion } from '../../fixtures/close-scenarios';
import { useTestResources } from '../../fixtures/resources';

/**
 * One close per region at a time (settlement/cycle-close/close-cycle.ts): the close holds the
 * region's lease for as long as it runs and fences each of its transactions with it. Each close
 * here has a pool of its own (contenders.ts); the same scenarios (close-scenarios.ts) run
 * with the closes on different nodes of a Galera cluster in test/infra/galera-exclusivity.test.ts.
 *
 * To catch a close in the middle, the scenario holds it at its watermark: the close takes its
 * lease, then waits for an outbox row to be published until the test lets go.
 */
const r = useTestResources();

test('two closes of one region at once: one closes it, the other is refused while it runs (however long, past the lease TTL), and every seller is paid once', async () => {
  const c = await serverContest(r);
  await twoClosesOfOneRegion(c, await closeSetup(r, c.db));
}, 120_000);

test('a close whose region lease was taken over commits nothing more, and the new holder closes the cycle whole', async () => {
  const c = await serverContest(r);
  await closeTakenOver(c, await closeSetup(r, c.db));
}, 120_000);
