// The Reproduce page (run by tests/e2e/run.sh): a lab-cli report, pasted or
// opened as a file, verifies (the check runs in a web worker) and names the
// command that recomputes it; a tampered report does not verify; bad input
// is explained in words and the page keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { labUrl, cliReport, LAB_CLI, withPage } from './lab.mjs';

/** lab-cli's JSON report text for `args`. */
const cliText = (args) => execFileSync(LAB_CLI, [...args, '--json'], { encoding: 'utf8' });

async function paste(page, text) {
  await page.getByTestId('report-text').fill(text);
  await page.getByTestId('check').click();
}

test('a lab-cli report verifies, names its command, and a tampered one does not', () =>
  withPage(async (page) => {
    const text = cliText(['convergence', '--nodes', '5', '--dim', '3', '--orderings', '2', '--protocol', 'push-pull']);
    const report = JSON.parse(text);
    await page.goto(labUrl({ exp: 'reproduce' }));
    await paste(page, text);
    const check = page.getByTestId('fingerprint-check');
    await check.waitFor();
    assert.equal(await check.getAttribute('data-verified'), 'true');
    assert.equal((await page.getByTestId('fingerprint').textContent()).trim(), report.fingerprint);
    const cli = (await page.getByTestId('cli').textContent()).trim();
    assert.match(cli, /^lab-cli convergence /);
    assert.equal(cliReport(cli).fingerprint, report.fingerprint, 'the named command recomputes it');
    assert.match(await page.getByTestId('rerun').getAttribute('href'), /exp=convergence.*run=1/);

    const tampered = text.replace('"converged": true', '"converged": false');
    assert.notEqual(tampered, text);
    await paste(page, tampered);
    await page.locator('[data-testid="fingerprint-check"][data-verified="false"]').waitFor();
    assert.match(await check.textContent(), /does not match/);
  }));

test('a report file of another experiment verifies', () =>
  withPage(async (page) => {
    const text = cliText(['partition', '--nodes', '6', '--dim', '2']);
    await page.goto(labUrl({ exp: 'reproduce' }));
    await page.getByTestId('report-file').setInputFiles({
      name: 'partition.json', mimeType: 'application/json', buffer: Buffer.from(text),
    });
    const check = page.getByTestId('fingerprint-check');
    await check.waitFor();
    assert.equal(await check.getAttribute('data-verified'), 'true');
    assert.match(await check.textContent(), /partition\.json \(partition report\)/);
    assert.match((await page.getByTestId('cli').textContent()).trim(), /^lab-cli partition /);
  }));

test('bad input is explained in words and the page keeps working', () =>
  withPage(async (page) => {
    await page.goto(labUrl({ exp: 'reproduce' }));
    const error = page.getByTestId('report-error');
    await paste(page, 'nope');
    await error.filter({ hasText: 'not JSON' }).waitFor();
    await paste(page, '{}');
    await error.filter({ hasText: 'no "experiment" field' }).waitFor();
    await paste(page, '{"experiment":"sweep","schema":7}');
    await error.filter({ hasText: 'schema 7' }).waitFor();
    await paste(page, '{"experiment":"sweep","schema":1}');
    await error.filter({ hasText: "not a valid 'sweep' report" }).waitFor();
    await paste(page, cliText(['scale', '--sizes', '2,4', '--dim', '2', '--orderings', '1']));
    await page.getByTestId('fingerprint-check').waitFor();
    assert.equal(await page.getByTestId('fingerprint-check').getAttribute('data-verified'), 'true');
  }));
