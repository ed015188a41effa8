// ward's DPIA report in a real browser: Debian's chromium driven by playwright-core, checked
// by axe-core, then printed through Chromium's own print-to-PDF. Started by `cargo test`
// (crates/ward/tests/it/browser.rs), which writes the report first and passes:
//   WARD_REPORT      the report.html to open (a file: it is self-contained)
//   WARD_PDF         where to write the printed PDF
//   WARD_SCREENSHOTS where to save screenshots (a folder; created if missing)
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
const pdf = process.env.WARD_PDF;
const shots = process.env.WARD_SCREENSHOTS;
const executablePath = process.env.WARD_CHROMIUM || '/usr/bin/chromium';
assert.ok(report && pdf && shots, 'WARD_REPORT, WARD_PDF and WARD_SCREENSHOTS must be set');
mkdirSync(shots, { recursive: true });

let step = 0;
function ok(what) {
  step += 1;
  console.log(`ok ${step} - ${what}`);
}

async function accessible(page, name) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ['violations'] }),
  );
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const violation of results.violations.filter((v) => !bad.includes(v))) {
    console.log(`  note: ${name}: ${violation.impact} ${violation.id} (${violation.nodes.length})`);
  }
  assert.deepEqual(
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `${name}: accessibility violations`,
  );
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  chromiumSandbox: false,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  // The report is self-contained: any request beyond the file itself fails the test.
  const fetched = [];
  page.on('request', (request) => {
    if (request.url() !== pathToFileURL(report).href) fetched.push(request.url());
  });
  await page.goto(pathToFileURL(report).href);
  assert.deepEqual(fetched, [], 'the report fetches nothing');
  ok('the report opens from a file and fetches nothing');

  await accessible(page, 'report (screen)');
  ok('axe-core finds no serious or critical violation on screen');

  // Every plot is an image with a name and a description, and has a data table.
  const plots = page.locator('svg[role="img"]');
  const count = await plots.count();
  assert.ok(count >= 3, `at least three plots, found ${count}`);
  for (let idx = 0; idx < count; idx += 1) {
    const label = await plots.nth(idx).getAttribute('aria-labelledby');
    const [title, desc] = label.split(' ');
    assert.ok((await page.locator(`#${title}`).textContent()).length > 10, `plot ${idx} has a title`);
    assert.ok((await page.locator(`#${desc}`).textContent()).includes('table'), `plot ${idx} points at its table`);
  }
  ok(`${count} plots, each with a title, a text alternative and its table`);
  // The audit's plot (the report is written with --audit) and the signals per band.
  assert.equal(await page.locator('svg[aria-labelledby^="chart-audit-0-title"]').count(), 1, 'the audit plot');
  assert.ok((await page.locator('#chart-audit-0-desc').textContent()).includes('without'), 'the audit plot says without and with');
  assert.ok((await page.locator('#signals-h').count()) === 1, 'the signals per band');
  // The audit's with/without curves over the session: four lines per band, named, with a table.
  const curve = page.locator('svg[aria-labelledby^="chart-curve-0-0-title"]');
  assert.equal(await curve.count(), 1, 'the audit curves');
  assert.equal(await curve.locator('polyline').count(), 4, 'four curves: two personas, without and with');
  assert.ok((await page.locator('#chart-curve-0-0-desc').textContent()).includes('without and with'), 'the curves say without and with');
  const curveTable = page.locator('figure:has(#chart-curve-0-0-title) + table');
  assert.ok((await curveTable.locator('tbody tr').count()) > 1, 'the curves have their data table');
  // A decision in dpia.toml for a risk not proposed this time is shown apart in step 5.
  assert.equal(await page.locator('#risks-not-proposed').count(), 1, 'decisions for risks not proposed');
  ok('the audit plot, its curves, the decisions not proposed and the signals per band are there');

  await page.screenshot({ path: join(shots, 'report-desktop.png'), fullPage: false });

  await page.emulateMedia({ media: 'print' });
  await accessible(page, 'report (print)');
  ok('axe-core finds no serious or critical violation in the print layout');
  await page.pdf({ path: pdf, format: 'A4', printBackground: true, preferCSSPageSize: true });
  ok(`printed to ${pdf}`);
} finally {
  await browser.close();
}
