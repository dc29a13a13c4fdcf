// Where a browser Experiment 1 run spends its worker time: attaches V8's
// sampling CPU profiler to every run-pool worker (Chrome DevTools Protocol,
// through a browser-level session), clicks Run `--repeat` times on the
// Convergence page with the seed lab's 100-node config, and prints each
// function's share of the samples (self time), largest first, plus the
// shares of a few groups (resolve, hashing, workload generation, CRDT).
// Function names need a worker wasm with its name section: re-run
// wasm-opt with `-g` on wasm-bindgen's output (BENCHMARKS.md says how);
// otherwise they print as wasm-function[N].
//   LAB_URL=http://127.0.0.1:PORT/ node tests/e2e/exp1profile.mjs [--workers 1] [--repeat 3] [--wait 2500] [--top 25]
import { chromium } from 'playwright-core';
import { labUrl } from './lab.mjs';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const workers = arg('--workers', '1');
const repeat = Number(arg('--repeat', '3'));
const waitMs = Number(arg('--wait', '2500'));
const top = Number(arg('--top', '25'));

const GROUPS = [
  ['resolve (weighted fold)', /weighted_mean_of|weighted_fold/],
  ['BLAKE3 (digests)', /blake3/],
  ['workload generation (ChaCha, libm, Box–Muller)', /libm::|rand_|chacha|gaussian|rem_pio2|BlockRng/i],
  ['CRDT joins and gossip', /lab_core::crdt|lab_core::sim|join_cow/],
  ['allocator and memory', /dlmalloc|memcpy|memset|memmove|memcmp/],
];

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  await page.goto(labUrl({
    exp: 'convergence', nodes: '100', dim: '128', orderings: '5', protocol: 'all-pairs',
    strategy: 'weight_average', workload: 'gaussian', workers,
  }));
  const run = page.getByTestId('run');
  await run.waitFor();
  await page.waitForTimeout(waitMs);
  const cdp = await browser.newBrowserCDPSession();
  const { targetInfos } = await cdp.send('Target.getTargets');
  // Non-flattened sessions: commands and replies travel inside
  // Target.sendMessageToTarget / receivedMessageFromTarget.
  let nextId = 1;
  const waiting = new Map();
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message);
    if (waiting.has(m.id)) {
      waiting.get(m.id)(m);
      waiting.delete(m.id);
    }
  });
  const send = (sessionId, method, params = {}) => new Promise((resolve) => {
    const id = nextId++;
    waiting.set(id, resolve);
    cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
  });
  const sessions = [];
  for (const t of targetInfos.filter((t) => t.type === 'worker' && t.title.startsWith('run-'))) {
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: t.targetId, flatten: false });
    await send(sessionId, 'Profiler.enable');
    await send(sessionId, 'Profiler.setSamplingInterval', { interval: 200 });
    await send(sessionId, 'Profiler.start');
    sessions.push(sessionId);
  }
  if (!sessions.length) throw new Error('no run-pool worker found');
  for (let k = 0; k < repeat; k++) {
    const t0 = Date.now();
    await run.click();
    await page.waitForFunction(() => !document.querySelector('[data-testid=run]').disabled
      && document.querySelector('[data-testid=verdict]'), null, { timeout: 600_000 });
    console.log(`run ${k + 1}: ${Date.now() - t0} ms (wall)`);
  }
  const self = new Map();
  let total = 0;
  for (const s of sessions) {
    const { result } = await send(s, 'Profiler.stop');
    const byId = new Map(result.profile.nodes.map((n) => [n.id, n.callFrame.functionName || '(anonymous)']));
    for (const id of result.profile.samples) {
      const name = byId.get(id);
      self.set(name, (self.get(name) ?? 0) + 1);
      total++;
    }
  }
  const busy = total - (self.get('(idle)') ?? 0) - (self.get('(program)') ?? 0);
  const pct = (n, of) => `${((100 * n) / of).toFixed(1).padStart(5)} %`;
  console.log(`\n${total} samples of 200 µs over ${sessions.length} worker(s), ${busy} busy; share of busy samples:`);
  for (const [name, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    if (name !== '(idle)' && name !== '(program)') console.log(`${pct(n, busy)}  ${name.replace(/::h[0-9a-f]{16}$/, '')}`);
  }
  console.log('\ngroups:');
  for (const [label, re] of GROUPS) {
    const n = [...self].filter(([name]) => re.test(name)).reduce((a, [, c]) => a + c, 0);
    console.log(`${pct(n, busy)}  ${label}`);
  }
} finally {
  await browser.close();
}
