// Offline support (run by tests/e2e/run.sh): the web manifest is served and
// well-formed, and after one visit the service worker serves the page, the
// app's wasm and the engine workers with the network switched off.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, labUrl, waitForRun, BASE_URL } from './lab.mjs';

const offsiteAll = [];
after(() => assert.deepEqual(offsiteAll, [], 'requests left 127.0.0.1'));

async function withBrowser(body, options, expectErrors = false) {
  const b = await launch(options);
  try {
    await body(b);
  } finally {
    offsiteAll.push(...b.offsite);
    await b.close();
  }
  assert.deepEqual(b.offsite, [], 'no request may leave 127.0.0.1');
  if (!expectErrors) assert.deepEqual(b.problems, [], 'no page or console errors');
}

/**
 * Waits until a service worker is active and (after its clients.claim(), up to
 * 5 s) controls `page`; tells whether it does.
 */
async function controlled(page) {
  return page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (navigator.serviceWorker.controller) return true;
    await new Promise((resolve) => {
      navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true });
      setTimeout(resolve, 5000);
    });
    return navigator.serviceWorker.controller !== null;
  });
}

test('the web manifest is linked, served and complete', async () => {
  const html = await (await fetch(BASE_URL)).text();
  const link = html.match(/<link rel="manifest" href="([^"]+)">/);
  assert.ok(link, 'index.html links a manifest');
  assert.match(html, /<meta name="theme-color" content="#[0-9a-f]{6}"/);
  const manifestUrl = new URL(link[1], BASE_URL);
  const res = await fetch(manifestUrl);
  assert.equal(res.status, 200);
  const manifest = JSON.parse(await res.text());
  assert.equal(manifest.name, 'Convergence Lab');
  assert.ok(manifest.short_name && manifest.short_name.length <= 12, 'a short_name that fits a launcher');
  assert.equal(manifest.display, 'standalone');
  // start_url and scope resolve against the manifest: both must be the site.
  assert.equal(new URL(manifest.start_url, manifestUrl).href, BASE_URL);
  assert.equal(new URL(manifest.scope, manifestUrl).href, BASE_URL);
  assert.match(manifest.theme_color, /^#[0-9a-f]{6}$/);
  assert.match(manifest.background_color, /^#[0-9a-f]{6}$/);
  const icon = manifest.icons.find((i) => i.type === 'image/svg+xml');
  assert.ok(icon, 'an SVG icon');
  assert.equal(icon.sizes, 'any');
  const iconRes = await fetch(new URL(icon.src, manifestUrl));
  assert.equal(iconRes.status, 200);
  assert.match(await iconRes.text(), /<svg/);
  // The service worker sits at the site root, so its scope is the whole site.
  const sw = await fetch(new URL('sw.js', BASE_URL));
  assert.equal(sw.status, 200);
});

test('after one visit the lab loads and runs with the network off', () =>
  withBrowser(async ({ page, context }) => {
    await page.goto(labUrl({ exp: 'convergence' }));
    await page.getByTestId('run').waitFor();
    if (!(await controlled(page))) {
      await page.reload();
      await page.getByTestId('run').waitFor();
      assert.ok(await controlled(page), 'the service worker controls the page');
    }
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    assert.equal(scope, BASE_URL);

    // Cached responses keep their headers: a host that sends COOP/COEP
    // (trunk serve) stays cross-origin isolated offline.
    const isolated = await page.evaluate(() => crossOriginIsolated);

    await context.setOffline(true);
    const served = [];
    const failed = [];
    // Requests the service worker itself makes (its network-first attempts)
    // fail offline by design; those of the page and its workers must not.
    const bySw = (r) => r.serviceWorker() !== null;
    context.on('response', (r) => {
      if (!bySw(r.request())) served.push({ url: r.url(), sw: r.fromServiceWorker() });
    });
    // ERR_ABORTED: the reload or goto below cut short a load (a worker's wasm,
    // say) still running on the page before it; that is not an offline failure.
    context.on('requestfailed', (r) => {
      if (!bySw(r) && r.failure()?.errorText !== 'net::ERR_ABORTED') failed.push(r.url());
    });

    await page.reload();
    await page.getByTestId('run').waitFor();
    assert.equal(await page.evaluate(() => navigator.onLine), false, 'the browser is offline');
    assert.equal(await page.evaluate(() => crossOriginIsolated), isolated, 'same isolation as online');

    // A small run on the reloaded page: the engine runs in its web workers,
    // whose script and wasm can only have come from the service worker.
    await page.getByLabel('Nodes').fill('4');
    await page.getByLabel('Tensor side (dim × dim)').fill('2');
    await page.getByLabel('Orderings').fill('1');
    await page.getByTestId('run').click();
    const run = await waitForRun(page);
    assert.equal(run.passed, 'true');
    assert.match(run.fingerprint, /^[0-9a-f]{64}$/);

    // A permalink (another query string) opens offline too.
    await page.goto(labUrl({ exp: 'convergence', nodes: '4', dim: '2', orderings: '1', workers: '2', run: '1' }));
    assert.equal((await waitForRun(page)).passed, 'true');

    // A page of the second bundle (pages.js + pages_bg.wasm), never visited
    // online: the service worker precached that bundle at install.
    await page.goto(labUrl({ exp: 'scale' }));
    await page.getByTestId('run').waitFor();
    assert.match(await page.locator('h1').first().textContent(), /scalability/i);

    assert.deepEqual(failed, [], 'no request of the page or its workers failed offline');
    const fromNetwork = served.filter((r) => !r.sw).map((r) => r.url);
    assert.deepEqual(fromNetwork, [], 'every response came from the service worker');
    for (const file of ['worker_loader.js', 'worker.js', 'worker_bg.wasm', 'pages.js', 'pages_bg.wasm']) {
      assert.ok(served.some((r) => new URL(r.url).pathname.endsWith(`/${file}`)), `${file} was served offline`);
    }
    await page.goto(labUrl({ exp: 'convergence' }));
    await page.getByTestId('run').waitFor();
    const appWasm = await page.evaluate(() => document.querySelector('link[rel=preload][href$=".wasm"]').href);
    assert.ok(served.some((r) => r.url === appWasm), `the app's wasm (${appWasm}) was served offline`);
  }));

test('without service workers the page still works and logs no error', () =>
  withBrowser(async ({ page }) => {
    await page.goto(labUrl({ exp: 'convergence', nodes: '4', dim: '2', orderings: '1', workers: '1', run: '1' }));
    assert.equal((await waitForRun(page)).passed, 'true');
    assert.equal(await page.evaluate(() => navigator.serviceWorker?.controller ?? null), null);
  }, { serviceWorkers: 'block' }));
