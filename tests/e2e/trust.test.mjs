// Browser end-to-end tests of the Trust page (E4), run by tests/e2e/run.sh.
// Small configs only: the whole file stays well under the CI budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { labUrl, waitForRun, cliReport, screenshot, withPage, LAB_CLI } from './lab.mjs';

const small = { exp: 'trust', nodes: '8', dim: '4', reference_contrast: 'true' };

async function download(page, testid) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  return fs.readFileSync(await d.path(), 'utf8');
}

test('a small run passes, matches lab-cli, and exports JSON, CSV and SVG', (t) =>
  withPage(async (page) => {
    await page.goto(labUrl({ ...small, workers: '1', run: '1' }));
    const run = await waitForRun(page);
    assert.equal(run.passed, 'true');
    assert.match(run.fingerprint, /^[0-9a-f]{64}$/);
    assert.match(run.cli, /^lab-cli trust .*--reference-contrast( |$)/);
    const cli = cliReport(run.cli);
    assert.equal(run.fingerprint, cli.fingerprint);

    const browser = JSON.parse(await download(page, 'export-json'));
    assert.equal(browser.execution.executor, 'browser');
    t.diagnostic(`browser run: ${browser.execution.total_ms.toFixed(1)} ms`);
    delete browser.execution;
    delete cli.execution;
    assert.deepEqual(browser, cli);

    const members = (await download(page, 'export-csv')).trim().split('\r\n');
    assert.equal(members.length, 1 + cli.results.members.length);
    assert.match(members[0], /^node,behaviour,final_trust,/);
    const evidence = (await download(page, 'export-csv-evidence')).trim().split('\r\n');
    assert.equal(evidence.length, 1 + cli.results.evidence.length);
    for (const id of ['export-svg', 'export-svg-trust', 'export-svg-contrast']) {
      const svg = await download(page, id);
      assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.match(svg, /<\/svg>$/);
    }
    assert.equal(await page.locator('[data-testid="chart"] svg').count(), 1);
    assert.equal(await page.locator('[data-testid="chart-trust"] svg rect').count(), 8);
    assert.match(await page.getByTestId('contrast-label').textContent(), /REFERENCE SEMANTICS/);
    assert.equal(await page.locator('[data-testid="results"] tbody tr').count(), 8);
  }));

test('too many Byzantine members in the link are named, and the defaults run', () =>
  withPage(async (page) => {
    await page.goto(labUrl('exp=trust&equivocators=999&workers=1'));
    const issues = page.getByTestId('query-issues');
    await issues.waitFor();
    assert.match(await issues.textContent(), /equivocators=999/);
    assert.equal(await page.getByLabel('Equivocators').inputValue(), '1');
    await page.getByTestId('run').click();
    assert.equal((await waitForRun(page)).passed, 'true');
  }));

test('an impossible form is explained and nothing runs', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'trust', workers: '1' }));
    await page.getByLabel('Members (nodes)').fill('5');
    await page.getByTestId('run').click();
    const issues = page.getByTestId('form-issues');
    await issues.waitFor();
    assert.match(await issues.textContent(), /nodes: 6 Byzantine members need at least 7 nodes/);
    assert.equal(await page.getByTestId('verdict').count(), 0);
  }));

// The round the progress text names ("round r of at most N; …"), or null.
async function progressRound(page) {
  const text = (await page.getByTestId('progress').textContent().catch(() => '')) ?? '';
  const m = text.match(/round (\d+) of at most (\d+)/);
  return m ? { round: Number(m[1]), max: Number(m[2]), text } : null;
}

async function waitForRound(page, above, timeout) {
  const until = Date.now() + timeout;
  for (;;) {
    const p = await progressRound(page);
    if (p && p.round > above) return p;
    if (Date.now() > until) throw new Error(`no round above ${above} within ${timeout} ms (${p?.text})`);
    await page.waitForTimeout(50);
  }
}

test('a long run shows its rounds as they go, Cancel stops it at once, and the next run succeeds', (t) =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'trust', nodes: '200', dim: '64', rounds_max: '1000', workers: '1', run: '1' }));
    await page.getByTestId('progress').waitFor();
    const first = await waitForRound(page, 0, 60_000);
    assert.equal(first.max, 1000);
    assert.match(first.text, /evidence record\(s\) held by all \d+ honest nodes/);
    const bar = page.locator('[data-testid="progress"] [role="progressbar"]');
    const later = await waitForRound(page, first.round, 60_000);
    t.diagnostic(`progress moved from round ${first.round} to ${later.round}`);
    assert.ok(later.round > first.round);
    assert.ok(Number(await bar.getAttribute('aria-valuenow')) >= 0);
    const pressed = Date.now();
    await page.getByTestId('cancel').click();
    await page.getByTestId('cancelled').waitFor({ timeout: 5_000 });
    t.diagnostic(`cancelled ${Date.now() - pressed} ms after the click`);
    assert.equal(await page.getByTestId('verdict').count(), 0);
    assert.equal(await page.getByTestId('progress').count(), 0);
    await page.getByLabel('Members (nodes)').fill('8');
    await page.getByLabel('Tensor side (dim × dim)').fill('4');
    await page.getByTestId('run').click();
    assert.equal((await waitForRun(page)).passed, 'true');
    assert.match(page.url(), /nodes=8/, 'the address bar holds the permalink');
  }));

test('a partition that heals and lossy links: the run passes, shades its faults and matches lab-cli', () =>
  withPage(async (page) => {
    await page.goto(labUrl({
      ...small, workers: '1', phases: 'mod:2@1-8', loss: '0.3', duplicate: '0.2', delay_max: '2', run: '1',
    }));
    const run = await waitForRun(page);
    assert.equal(run.passed, 'true');
    assert.match(run.cli, / --phases mod:2@1-8 --loss 0\.3 --duplicate 0\.2 --delay-max 2 --link-until 0/);
    const cli = cliReport(run.cli);
    assert.equal(run.fingerprint, cli.fingerprint);
    assert.deepEqual(cli.results.trust_roots.length, 1);
    const faults = await page.getByTestId('fault-intervals').textContent();
    assert.match(faults, /partition — 2 groups by i mod 2: rounds 1 to 7/);
    assert.match(faults, /messages — loss 0\.3/);
    assert.equal(await page.locator('[data-testid="chart"] svg rect.fault').count(), 2);
    assert.match(page.url(), /phases=mod%3A2%401-8|phases=mod:2@1-8/);
  }));

test('a partition that never heals fails in words, and a bad fault parameter is named', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ ...small, workers: '1', rounds_max: '20', phases: 'halves@1-500', loss: '1.5', run: '1' }));
    assert.match(await page.getByTestId('query-issues').textContent(), /loss/);
    const run = await waitForRun(page);
    assert.equal(run.passed, 'false');
    assert.match(await page.getByTestId('verdict').textContent(), /never reconnected/);
  }));

/** Runs a page's `lab-cli` command in `dir` (where the files are). */
function cliIn(dir, command) {
  const args = command.split(/\s+/);
  assert.equal(args.shift(), 'lab-cli');
  return JSON.parse(execFileSync(LAB_CLI, [...args, '--json'], { cwd: dir, encoding: 'utf8' }));
}

test('the shipped sample on the trust page gives lab-cli trust\'s fingerprint', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'trust', workers: '1', nodes: '8' }));
    await page.getByTestId('run').waitFor();
    await page.getByTestId('weights-sample').click();
    await page.getByTestId('weights-loaded').filter({ hasText: 'lstm_cell.weight_hh' }).waitFor();
    assert.ok(await page.getByTestId('weights-use').isChecked());
    await page.getByTestId('run').click();
    const run = await waitForRun(page);
    assert.match(run.cli, /^lab-cli trust .*--weights silero-vad-6\.2\.3-16k\.safetensors silero-vad-6\.2\.3-jit-16k\.safetensors --tensor lstm_cell\.weight_hh/);
    assert.match(await page.getByTestId('workload-files').textContent(), /silero-vad-6\.2\.3-jit-16k\.safetensors/);
    assert.match(page.url(), /workload=files/);
    const cli = cliIn(path.resolve('public/samples'), run.cli);
    assert.equal(cli.config.workload.files.shape.join('x'), '512x128');
    assert.equal(run.passed, 'true');
    assert.equal(cli.verdict.passed, true);
    assert.equal(run.fingerprint, cli.fingerprint);
  }));

for (const [name, viewport, colorScheme] of [
  ['desktop', { width: 1280, height: 800 }, 'light'],
  ['phone', { width: 390, height: 844 }, 'dark'],
]) {
  test(`screenshot at ${name} width`, () =>
    withPage(async (page) => {
      await page.goto(labUrl({ exp: 'trust', reference_contrast: 'true', run: '1' }));
      await waitForRun(page);
      await screenshot(page, `trust-${name}.png`);
    }, { viewport, colorScheme }));
}
