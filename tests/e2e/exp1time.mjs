// Times the seed lab's Experiment 1 at 100 nodes in the browser, as a user
// runs it: the Convergence page with 100 nodes, 128², 5 all-pairs orderings,
// weight_average, Gaussian workload; from the Run click to the verdict, with
// each worker count, several times. Prints one line per run and the median.
//   LAB_URL=http://127.0.0.1:PORT/ node tests/e2e/exp1time.mjs [--workers 1,2] [--runs 5] [--nodes 100]
import { launch, labUrl, waitForRun } from './lab.mjs';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const workersList = arg('--workers', '1,2').split(',').map(Number);
const runs = Number(arg('--runs', '5'));
const nodes = arg('--nodes', '100');

for (const workers of workersList) {
  const times = [];
  let fingerprint = null;
  for (let r = 0; r < runs; r++) {
    const b = await launch();
    try {
      await b.page.goto(labUrl({
        exp: 'convergence', nodes, dim: '128', orderings: '5', protocol: 'all-pairs',
        strategy: 'weight_average', workload: 'gaussian', workers: String(workers),
      }));
      const run = b.page.getByTestId('run');
      await run.waitFor();
      const t0 = Date.now();
      await run.click();
      const result = await waitForRun(b.page, 600_000);
      const ms = Date.now() - t0;
      if (result.passed !== 'true') throw new Error(`run ${r} did not pass`);
      if (fingerprint && fingerprint !== result.fingerprint) throw new Error('fingerprint changed between runs');
      fingerprint = result.fingerprint;
      times.push(ms);
      console.log(`workers ${workers} run ${r + 1}: ${ms} ms`);
    } finally {
      await b.close();
    }
  }
  times.sort((a, b) => a - b);
  console.log(`workers ${workers}: median ${times[Math.floor(times.length / 2)]} ms, min ${times[0]} ms; fingerprint ${fingerprint}`);
}
