// The `ward audit` report in a real browser: Debian's chromium driven by playwright-core,
// checked by axe-core. Started by `cargo test` (crates/ward/tests/it/browser.rs), which runs
// a real `ward audit` and passes:
//   WARD_REPORT      the report.html to open (a file: it must work with no server)
//   WARD_SCREENSHOTS where to save the screenshots (a folder; created if missing)
//   WARD_CHROMIUM    the browser (default /usr/bin/chromium; Playwright never downloads one)
// Exits non-zero on the first failed step, naming it.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const report = process.env.WARD_REPORT;
const shots = process.env.WARD_SCREENSHOTS;
const executablePath = process.env.WARD_CHROMIUM || '/usr/bin/chromium';
assert.ok(report && shots, 'WARD_REPORT and WARD_SCREENSHOTS must be set');
mkdirSync(shots, { recursive: true });

let step = 0;
function ok(what) {
  step += 1;
  console.log(`ok ${step} - ${what}`);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  chromiumSandbox: false,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  for (const [width, options] of [
    ['desktop', { viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 }],
    ['phone', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 }],
  ]) {
    const context = await browser.newContext(options);
    // Self-contained: any request beyond the file itself is a failure.
    const requests = [];
    context.on('request', (request) => {
      if (!request.url().startsWith('file:')) requests.push(request.url());
    });
    const page = await context.newPage();
    await page.goto(pathToFileURL(report).href);
    assert.match(await page.title(), /^ward audit: /);
    const figures = page.locator('figure');
    assert.ok((await figures.count()) >= 4, 'plots are there');
    // Every plot is an image with a name and a description, and has its data as a table.
    for (const figure of await figures.all()) {
      const svg = figure.locator('svg[role="img"]').first();
      const labelled = await svg.getAttribute('aria-labelledby');
      for (const id of labelled.split(' ')) {
        assert.ok((await page.locator(`[id="${id}"]`).textContent()).trim().length > 0, `#${id} has text`);
      }
      assert.equal(await figure.locator('details table').count(), 1, 'a data table');
    }
    ok(`${width}: every plot has a text alternative and a data table`);
    await page.evaluate(AXE_SOURCE);
    const results = await page.evaluate(async () =>
      // eslint-disable-next-line no-undef
      axe.run(document, { resultTypes: ['violations'] }),
    );
    const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    for (const violation of results.violations.filter((v) => !bad.includes(v))) {
      console.log(`  note: report: ${violation.impact} ${violation.id} (${violation.nodes.length})`);
    }
    assert.deepEqual(
      bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
      [],
      'report: accessibility violations',
    );
    ok(`${width}: axe finds nothing serious`);
    // The first plot's data opens from the keyboard.
    const summary = page.locator('figure details summary').first();
    await summary.focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('figure details').first().getAttribute('open'), '');
    ok(`${width}: a plot's data opens from the keyboard`);
    await page.keyboard.press('Enter');
    // The first recommender's tables and its first plot, as a reader opening the report sees them.
    await page.locator('section[aria-labelledby="r0"]').first().scrollIntoViewIfNeeded();
    await page.evaluate(() => document.getElementById('r0').scrollIntoView());
    await page.screenshot({ path: join(shots, `audit-report-${width}.png`) });
    ok(`${width}: screenshot`);
    assert.deepEqual(requests, [], 'the report loads nothing from anywhere');
    await context.close();
  }
} finally {
  await browser.close();
}
