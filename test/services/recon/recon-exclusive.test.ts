import { serverContest } from '../../fixtures/contenders';
import { reconTakenOver, twoReconRuns } from '../../fixtures/recon-scenarios';
import { useTestResources } from '../../fixtures/resources';

/**
 * One reconciliation run at a time per database (services/recon/recon-runner.ts): a run holds the
 * `sts.recon` lease, a second run waits for it, and a run that lost the lease saves nothing. Each
 * run here has a pool of its own (contenders.ts); the same scenarios (recon-scenarios.ts)
 * run with the two runs on different nodes of a Galera cluster in
 * test/infra/galera-exclusivity.test.ts.
 */
const r = useTestResources();

test('two reconciliation runs at once: the second waits for the first, their rules never overlap, both report, and the finding is kept once', async () => {
  await twoReconRuns(await serverContest(r));
}, 60_000);

test('a run whose lease was taken over while its rule ran saves none of its findings', async () => {
  await reconTakenOver(await serverContest(r));
}, 60_000);
