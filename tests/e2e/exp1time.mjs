// Times the seed lab's Experiment 1 at 100 nodes in the browser, as a user
// runs it: the Convergence page with 100 nodes, 128², 5 all-pairs orderings,
// weight_average, Gaussian workload; from the Run click to the verdict.
// Each of `--runs` fresh browsers clicks Run `--repeat` times: the first
// run is cold (workers just started, workload not yet built, wasm not yet
// optimised), the others warm. Prints every run and the medians.
//   LAB_URL=http://127.0.0.1:PORT/ node tests/e2e/exp1time.mjs [--workers 1,2] [--runs 5] [--repeat 3] [--nodes 100] [--wait MS]
import { launch, labUrl } from './lab.mjs';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const workersList = arg('--workers', '1,2').split(',').map(Number);
const runs = Number(arg('--runs', '5'));
const repeat = Number(arg('--repeat', '3'));
const nodes = arg('--nodes', '100');
const waitMs = Number(arg('--wait', '0')); // ms between the page load and the first Run click

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const workers of workersList) {
  const cold = [];
  const warm = [];
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
      if (waitMs) await b.page.waitForTimeout(waitMs);
      for (let k = 0; k < repeat; k++) {
        await run.waitFor();
        const t0 = Date.now();
        await run.click();
        // Run is disabled while a run is in progress.
        await b.page.waitForFunction(
          () => !document.querySelector('[data-testid=run]').disabled
            && document.querySelector('[data-testid=verdict]'),
          null, { timeout: 600_000 });
        const ms = Date.now() - t0;
        const verdict = b.page.getByTestId('verdict');
        if ((await verdict.getAttribute('data-passed')) !== 'true') throw new Error(`run ${r}.${k} did not pass`);
        const fp = (await b.page.getByTestId('fingerprint').textContent()).trim();
        if (fingerprint && fingerprint !== fp) throw new Error('the fingerprint changed between runs');
        fingerprint = fp;
        (k === 0 ? cold : warm).push(ms);
        console.log(`workers ${workers} browser ${r + 1} run ${k + 1}: ${ms} ms`);
      }
    } finally {
      await b.close();
    }
  }
  console.log(`workers ${workers}: cold median ${median(cold)} ms (min ${Math.min(...cold)}), `
    + `warm median ${warm.length ? median(warm) : '—'} ms (min ${warm.length ? Math.min(...warm) : '—'}); fingerprint ${fingerprint}`);
}
