// The same checks on every experiment page (run by tests/e2e/run.sh): a
// small config run from the form with 1 worker makes no request and gives
// lab-cli's fingerprint; the permalink the run wrote into the address bar,
// opened fresh with `run=1` and 2 workers, reproduces the same fingerprint;
// a bad URL parameter is named and the page still runs. Also Cancel and
// desktop/phone screenshots for the pages whose own test files do not
// cover them (partition, suite).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labUrl, waitForRun, cliReport, screenshot, withPage } from './lab.mjs';

/** Each page: a small config, and the parameter a bad link spoils. */
const PAGES = [
  ['convergence', { nodes: '5', dim: '4', orderings: '2', protocol: 'push-pull' }, 'nodes'],
  ['partition', { nodes: '8', dim: '3', phases: 'halves@1-6' }, 'nodes'],
  ['sweep', { nodes: '4', dim: '3', orderings: '1', strategies: 'weight_average,ties,dare' }, 'nodes'],
  ['scale', { sizes: '2,4', dim: '3', orderings: '1' }, 'sizes'],
  ['suite', { preset: 'custom', nodes: '4', dim: '2', orderings: '1', partitions: '2', protocol: 'push-pull' }, 'nodes'],
  ['trust', { nodes: '8', dim: '4' }, 'nodes'],
];

/** Waits until the workers and the service worker are up. */
async function settle(page) {
  await page.getByTestId('run').waitFor();
  await page.evaluate(() =>
    'serviceWorker' in navigator
      ? Promise.race([navigator.serviceWorker.ready, new Promise((r) => setTimeout(r, 3000))])
      : null);
  await page.waitForLoadState('networkidle');
}

for (const [exp, config, badKey] of PAGES) {
  test(`${exp}: a run makes no request, equals lab-cli, and its permalink reproduces it with 2 workers`, () =>
    withPage(async (page) => {
      await page.goto(labUrl({ exp, workers: '1', ...config }));
      await settle(page);
      const requests = [];
      page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
      await page.getByTestId('run').click();
      const run = await waitForRun(page);
      assert.equal(run.passed, 'true');
      assert.deepEqual(requests, [], 'no request after load');
      assert.equal(run.fingerprint, cliReport(run.cli).fingerprint);

      const link = new URL(page.url());
      assert.equal(link.searchParams.get('v'), '1', 'the permalink has a schema version');
      assert.equal(link.searchParams.get('exp'), exp);
      link.searchParams.set('workers', '2');
      link.searchParams.set('run', '1');
      await page.goto('about:blank');
      await page.goto(link.toString());
      const again = await waitForRun(page);
      assert.equal(again.fingerprint, run.fingerprint, 'the permalink reproduces the run');
      assert.equal((await page.getByTestId('workers').textContent()).trim(), '2');
    }));

  test(`${exp}: a bad ${badKey} in the link is named and the page still runs`, () =>
    withPage(async (page) => {
      await page.goto(labUrl({ exp, workers: '1', ...config, [badKey]: 'banana' }));
      const issues = page.getByTestId('query-issues');
      await issues.waitFor();
      assert.match(await issues.textContent(), new RegExp(`${badKey}=banana`));
      await page.getByTestId('run').click();
      assert.equal((await waitForRun(page)).passed, 'true');
    }));
}

for (const [exp, long] of [
  ['partition', { nodes: '1000', dim: '32', phases: 'halves@1-200' }],
  ['suite', { preset: 'seed' }],
]) {
  test(`${exp}: Cancel stops a long run and the next run succeeds`, () =>
    withPage(async (page) => {
      await page.goto(labUrl({ exp, ...long }));
      await page.getByTestId('run').click();
      await page.getByTestId('progress').waitFor();
      await new Promise((r) => setTimeout(r, 500));
      await page.getByTestId('cancel').click();
      await page.getByTestId('cancelled').waitFor({ timeout: 10_000 });
      const small = PAGES.find(([e]) => e === exp)[1];
      await page.goto(labUrl({ exp, ...small, run: '1' }));
      assert.equal((await waitForRun(page)).passed, 'true');
    }));
}

for (const exp of ['partition', 'suite']) {
  for (const [name, width, height] of [['desktop', 1280, 800], ['phone', 390, 844]]) {
    test(`${exp}: screenshot at ${name} width, nothing wider than the screen`, () =>
      withPage(async (page) => {
        await page.setViewportSize({ width, height });
        const small = PAGES.find(([e]) => e === exp)[1];
        await page.goto(labUrl({ exp, ...small, run: '1' }));
        assert.equal((await waitForRun(page)).passed, 'true');
        await screenshot(page, `${exp}-${width}.png`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
        assert.equal(overflow, false, 'nothing is wider than the viewport');
      }));
  }
}

// The app ships as two bundles (src/main.rs, src/bin/pages.rs): the page's
// own one mounts the overview, Experiments 1–3 and Reproduce; for the
// rarely used pages it loads pages.js + pages_bg.wasm, which mounts instead.
// Either way the app is mounted exactly once.
for (const [exp, second] of [
  ['overview', false], ['convergence', false], ['partition', false], ['sweep', false],
  ['reproduce', false], ['scale', true], ['trust', true], ['suite', true], ['benchmark', true],
]) {
  test(`${exp}: shown by the ${second ? 'second' : "page's own"} bundle, mounted once`, () =>
    withPage(async (page) => {
      const wasm = [];
      page.on('request', (r) => { if (r.url().endsWith('.wasm')) wasm.push(new URL(r.url()).pathname); });
      await page.goto(labUrl({ exp }));
      await page.locator('#main h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      assert.equal(await page.locator('header.site-header').count(), 1, 'one header');
      assert.equal(await page.locator('main#main').count(), 1, 'one main');
      assert.equal(wasm.some((p) => p.endsWith('/pages_bg.wasm')), second, `pages_bg.wasm loaded: ${wasm}`);
      assert.equal(await page.locator('.notice.error').count(), 0, 'no load error');
    }));
}
