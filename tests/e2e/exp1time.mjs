// Times the seed lab's Experiment 1 at 100 nodes in the browser, as a user
// runs it: the Convergence page with 100 nodes, 128², 5 all-pairs orderings,
// weight_average, Gaussian workload; from the Run click to the verdict.
// Each of `--runs` fresh browsers clicks Run `--repeat` times: the first
// run is cold (workers just started, workload not yet built, wasm not yet
// optimised), the others warm. Prints every run and the medians.
// Two clocks: "page" is measured inside the page, from the click event to
// the moment the verdict is in the DOM with Run enabled again (a
// MutationObserver); "wall" is the harness's, from before Playwright's
// click to after it saw the verdict, so it adds Playwright's own latency
// (actionability checks, polling; ≈ 20–100 ms).
//   LAB_URL=http://127.0.0.1:PORT/ node tests/e2e/exp1time.mjs [--workers 1,2] [--runs 5] [--repeat 3] [--nodes 100] [--dim 128] [--wait MS]
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
const dim = arg('--dim', '128');
const waitMs = Number(arg('--wait', '0')); // ms between the page load and the first Run click

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const workers of workersList) {
  const cold = [];
  const warm = [];
  const coldWall = [];
  const warmWall = [];
  let fingerprint = null;
  for (let r = 0; r < runs; r++) {
    const b = await launch();
    try {
      await b.page.goto(labUrl({
        exp: 'convergence', nodes, dim, orderings: '5', protocol: 'all-pairs',
        strategy: 'weight_average', workload: 'gaussian', workers: String(workers),
      }));
      const run = b.page.getByTestId('run');
      await run.waitFor();
      if (waitMs) await b.page.waitForTimeout(waitMs);
      for (let k = 0; k < repeat; k++) {
        await run.waitFor();
        await b.page.evaluate(() => {
          const t = { click: null, running: false, verdict: null };
          window.labTiming = t;
          document.addEventListener('click', (e) => {
            if (e.target.closest('[data-testid=run]')) t.click = e.timeStamp;
          }, { capture: true, once: true });
          const watch = new MutationObserver(() => {
            const button = document.querySelector('[data-testid=run]');
            if (button.disabled) t.running = true;
            else if (t.running && document.querySelector('[data-testid=verdict]')) {
              t.verdict = performance.now();
              watch.disconnect();
            }
          });
          watch.observe(document.body, { subtree: true, childList: true, attributes: true });
        });
        const t0 = Date.now();
        await run.click();
        // Run is disabled while a run is in progress.
        await b.page.waitForFunction(
          () => !document.querySelector('[data-testid=run]').disabled
            && document.querySelector('[data-testid=verdict]'),
          null, { timeout: 600_000 });
        const wall = Date.now() - t0;
        const t = await b.page.evaluate(() => window.labTiming);
        if (t.click === null || t.verdict === null) throw new Error(`run ${r}.${k}: the in-page clock missed the click or the verdict`);
        const ms = Math.round(t.verdict - t.click);
        const verdict = b.page.getByTestId('verdict');
        if ((await verdict.getAttribute('data-passed')) !== 'true') throw new Error(`run ${r}.${k} did not pass`);
        const fp = (await b.page.getByTestId('fingerprint').textContent()).trim();
        if (fingerprint && fingerprint !== fp) throw new Error('the fingerprint changed between runs');
        fingerprint = fp;
        (k === 0 ? cold : warm).push(ms);
        (k === 0 ? coldWall : warmWall).push(wall);
        console.log(`workers ${workers} browser ${r + 1} run ${k + 1}: page ${ms} ms, wall ${wall} ms`);
      }
    } finally {
      await b.close();
    }
  }
  const summary = (xs) => (xs.length ? `median ${median(xs)} ms (min ${Math.min(...xs)})` : '—');
  console.log(`workers ${workers}: page clock cold ${summary(cold)}, warm ${summary(warm)}; `
    + `wall clock cold ${summary(coldWall)}, warm ${summary(warmWall)}; fingerprint ${fingerprint}`);
}
