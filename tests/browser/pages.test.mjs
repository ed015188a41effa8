// ward's pages in a real browser: Debian's chromium driven by playwright-core, every page
// checked by axe-core. Started by `cargo test` (crates/ward/tests/it/browser.rs), which runs
// a real `ward serve` and passes:
//   WARD_BASE        the server's address (http://127.0.0.1:PORT)
//   WARD_ADMIN       an admin API key
//   WARD_SCREENSHOTS where to save the screenshots (a folder; created if missing)
//   WARD_CHROMIUM    the browser (default /usr/bin/chromium; Playwright never downloads one)
// Exits non-zero on the first failed step, naming it.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const base = process.env.WARD_BASE;
const admin = process.env.WARD_ADMIN;
const shots = process.env.WARD_SCREENSHOTS;
const executablePath = process.env.WARD_CHROMIUM || '/usr/bin/chromium';
assert.ok(base && admin && shots, 'WARD_BASE, WARD_ADMIN and WARD_SCREENSHOTS must be set');
mkdirSync(shots, { recursive: true });

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };
const DESKTOP = { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 };

let step = 0;
function ok(what) {
  step += 1;
  console.log(`ok ${step} - ${what}`);
}

/** The admin API. */
async function api(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function link(path) {
  const { status, body } = await api('POST', path, {});
  assert.equal(status, 201, `${path}: ${JSON.stringify(body)}`);
  return body.url;
}

async function decide(child, purpose) {
  const { status, body } = await api('POST', '/v1/decide', { child, purpose });
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

/** axe-core on the page as it is: no violations, of any impact. Evaluated through the
 * driver (not a script tag), so it runs on pages that enforce their content security policy. */
async function accessible(page, name) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(AXE_SOURCE);
  }
  const results = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { resultTypes: ['violations'] }),
  );
  const bad = results.violations;
  assert.deepEqual(
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `${name}: accessibility violations`,
  );
}

/** A screenshot of the whole page, saved as NAME-phone.png or NAME-desktop.png. */
async function shoot(page, name, width) {
  await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: true });
}

/** Presses Tab until `target` has the focus (at most 60 times): it is reachable by keyboard. */
async function tabTo(page, target) {
  await page.locator('body').focus();
  for (let presses = 0; presses < 60; presses += 1) {
    await page.keyboard.press('Tab');
    if (await target.evaluate((element) => element === document.activeElement)) {
      return presses + 1;
    }
  }
  throw new Error('never reached by Tab');
}

/** axe-core on what a page with JavaScript off was served: axe is a script, so it
 * runs in `checker` (JavaScript on, the same cookies) on the same address, a GET that changes
 * nothing. */
async function accessibleWithoutScript(page, checker, name) {
  await checker.addCookies(await page.context().cookies());
  const view = await checker.newPage();
  try {
    await view.goto(page.url());
    await accessible(view, name);
  } finally {
    await view.close();
  }
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  chromiumSandbox: false,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

try {
  // The service sets up a 10-year-old in the UK with a parent, and a 7-year-old.
  for (const [id, age] of [['kid-10', 10], ['kid-7', 7]]) {
    const created = await api('PUT', `/v1/children/${id}`, {
      age: { method: 'parent_declared', age },
      jurisdiction: 'GB',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  }
  assert.equal((await api('PUT', '/v1/children/kid-10/parents/mum')).status, 201);
  ok('children and a parent set up through the admin API');

  const phone = await browser.newContext({ ...PHONE });
  const desktop = await browser.newContext({ ...DESKTOP });

  // The parent signs in first, by their one-time link: a Continue button, then the dashboard,
  // open before the child does anything. Every context enforces the pages' content security
  // policy, so the dashboard's script runs under `script-src 'self'` as it will for parents.
  const parent = await desktop.newPage();
  const scriptErrors = [];
  parent.on('console', (message) => {
    if (message.type() === 'error') scriptErrors.push(message.text());
  });
  parent.on('pageerror', (error) => scriptErrors.push(String(error)));
  const parentUrl = await link('/v1/parents/mum/sign-in-link');
  // Opening the link only shows the button (a mail scanner opening it uses nothing up).
  const signInPhone = await phone.newPage();
  await signInPhone.goto(parentUrl);
  await shoot(signInPhone, 'parent-sign-in', 'phone');
  await signInPhone.close();
  await parent.goto(parentUrl);
  await accessible(parent, 'parent sign-in page');
  await shoot(parent, 'parent-sign-in', 'desktop');
  await Promise.all([parent.waitForURL(/\/pages\/parent$/), parent.getByRole('button', { name: 'Continue' }).click()]);
  await parent.locator('#requests-kid-10').getByText('Nothing is waiting for you.').waitFor();
  await parent.locator('#alerts[data-live="open"]').waitFor();
  await parent.getByText('New alerts appear here as they happen.', { exact: false }).waitFor();
  // Set in this document: a reload would lose it.
  await parent.evaluate(() => {
    window.wardSameDocument = true;
  });
  ok('the parent signs in by one-time link; the dashboard is open and its alert stream connected');

  const child = await phone.newPage();

  // The child opens their one-time link.
  const childUrl = await link('/v1/children/kid-10/page-link');
  await child.goto(childUrl);
  assert.equal(new URL(child.url()).pathname, '/pages/child');
  await child.getByText('A parent can see your settings.').waitFor();
  const recommend = child.getByRole('switch', { name: 'Videos picked for you' });
  assert.equal(await recommend.getAttribute('aria-checked'), 'false');
  ok('the child link opens the privacy page, with the supervised sign');
  await accessible(child, 'child page');
  await shoot(child, 'child', 'phone');
  ok('child page: axe finds no violation; screenshot');

  // Reused: refused with a clear page.
  const reused = await desktop.newPage();
  const refused = await reused.goto(childUrl);
  assert.equal(refused.status(), 410);
  await reused.getByRole('heading', { name: 'This link has already been used' }).waitFor();
  await accessible(reused, 'refused link page');
  await shoot(reused, 'link-used', 'desktop');
  await reused.close();
  const reusedPhone = await phone.newPage();
  assert.equal((await reusedPhone.goto(childUrl)).status(), 410);
  await shoot(reusedPhone, 'link-used', 'phone');
  await reusedPhone.close();
  ok('a reused link is refused (410) with a page that says so');

  // Keyboard: Tab reaches the switch, Enter operates it.
  const presses = await tabTo(child, recommend);
  await Promise.all([child.waitForURL(/\/pages\/child\/switch-on\//), child.keyboard.press('Enter')]);
  ok(`the switch is reached with ${presses} Tab presses and operated with Enter`);

  // The intervention: the band's explanation, the ask-an-adult prompt, two equal choices.
  const { body: policyTexts } = await api('GET', '/v1/policy');
  assert.ok(policyTexts.purposes.some((p) => p.id === 'recommend-videos'));
  await child
    .getByText('Switching this on lets us use your watch history and likes to choose videos for you.', { exact: false })
    .waitFor();
  await child.getByText('Not sure? Talk to a parent or carer first. It is fine to leave this off.').waitFor();
  const notNow = child.getByRole('button', { name: 'Not now' });
  const ask = child.getByRole('button', { name: 'Ask my parent' });
  const [notNowBox, askBox] = [await notNow.boundingBox(), await ask.boundingBox()];
  assert.equal(Math.round(notNowBox.width), Math.round(askBox.width), '"not now" as wide as "switch on"');
  assert.equal(Math.round(notNowBox.height), Math.round(askBox.height), '"not now" as tall as "switch on"');
  const look = (locator) =>
    locator.evaluate((element) => {
      const style = getComputedStyle(element);
      return [style.fontSize, style.fontWeight, style.color, style.backgroundColor, style.borderTopWidth, style.borderTopColor].join(' ');
    });
  assert.equal(await look(notNow), await look(ask), '"not now" styled exactly as "switch on"');
  ok('the intervention shows the 10-12 explanation and ask-an-adult prompt; "not now" is as prominent as "ask my parent"');
  await accessible(child, 'switch-on page');
  await shoot(child, 'switch-on', 'phone');

  // Acknowledge: waiting for a parent.
  await Promise.all([child.waitForURL(/notice=waiting/), ask.click()]);
  await child.getByText('Waiting for a parent to say yes.', { exact: false }).waitFor();
  assert.equal((await decide('kid-10', 'recommend-videos')).reasons[0], 'awaiting_parent');
  ok('acknowledged: the page says it is waiting for a parent, decide says awaiting_parent');

  // The parent's dashboard, open all along, receives the request live: the alert (announced
  // to screen readers), and the request itself with the exact explanation and its buttons.
  const { body: requests } = await api('GET', '/v1/children/kid-10/consent-requests');
  const request = requests.requests[0].request;
  const card = parent.locator(`#request-${request.id}`);
  await card.waitFor();
  const liveAlert = parent.locator('#alert-list li', { hasText: 'kid-10 asked to switch on “Videos picked for you”' });
  await liveAlert.waitFor();
  assert.equal(await parent.evaluate(() => window.wardSameDocument), true, 'it arrived without a reload');
  await parent.waitForFunction(
    () => document.getElementById('alert-announcer').textContent.includes('kid-10 asked to switch on'),
  );
  assert.equal(await parent.locator('#alert-announcer').getAttribute('aria-live'), 'polite');
  assert.equal((await card.locator('.explain-text').textContent()).trim(), request.explain, 'the exact explanation the child saw');
  assert.equal((await card.locator('.ask-text').textContent()).trim(), request.ask_adult);
  await card.getByText(`Text version ${request.text_version}`).waitFor();
  await card.getByRole('button', { name: 'Approve' }).waitFor();
  await card.getByRole('button', { name: 'Deny' }).waitFor();
  ok("the parent's dashboard receives the alert live (no reload): announced, with the request, its exact explanation and Approve/Deny");
  await accessible(parent, 'parent dashboard, live alert');
  await shoot(parent, 'parent', 'desktop');
  // A second parent session, on a phone of its own (one browser holds one session), for its
  // screenshot.
  const parentPhoneContext = await browser.newContext({ ...PHONE });
  const parentPhone = await parentPhoneContext.newPage();
  await parentPhone.goto(await link('/v1/parents/mum/sign-in-link'));
  await Promise.all([parentPhone.waitForURL(/\/pages\/parent$/), parentPhone.getByRole('button', { name: 'Continue' }).click()]);
  await parentPhone.locator('#alert-list li', { hasText: 'kid-10 asked to switch on' }).waitFor();
  await accessible(parentPhone, 'parent dashboard, phone');
  await shoot(parentPhone, 'parent', 'phone');
  await parentPhoneContext.close();

  await Promise.all([parent.waitForURL(/notice=approved/), card.getByRole('button', { name: 'Approve' }).click()]);
  await parent.getByText('Approved. The setting is on now.').waitFor();
  const allowed = await decide('kid-10', 'recommend-videos');
  assert.equal(allowed.allow, true, JSON.stringify(allowed));
  await child.reload();
  assert.equal(await recommend.getAttribute('aria-checked'), 'true');
  await child.getByText('On. A parent said yes.').waitFor();
  ok('the parent approves: the child page shows it on and decide allows');

  // The parent sets a daily limit, a bedtime and a blocked topic from the dashboard.
  const controls = parent.locator('#controls-kid-10');
  await controls.getByLabel('Daily screen time, in minutes').fill('60');
  await controls.getByLabel('From').fill('20:30');
  await controls.getByLabel('To', { exact: true }).fill('07:00');
  await controls.getByLabel('Blocked topics').fill('horror');
  await Promise.all([
    parent.waitForURL(/saved=kid-10/),
    controls.getByRole('button', { name: 'Save for kid-10' }).click(),
  ]);
  await controls.getByText('Saved. These apply now.').waitFor();
  const setNow = parent.locator('#controls-now-kid-10');
  await setNow.getByText('60 minutes a day').waitFor();
  await setNow.getByText('20:30 to 07:00').waitFor();
  await setNow.getByText('horror').waitFor();
  assert.equal(await controls.getByLabel('Daily screen time, in minutes').inputValue(), '60');
  assert.equal(await controls.getByLabel('Blocked topics').inputValue(), 'horror');
  const { body: exported } = await api('GET', '/v1/children/kid-10/export');
  assert.deepEqual(exported.stored.controls, {
    daily_minutes: 60,
    bedtime: '20:30-07:00',
    blocked_tags: [],
    blocked_topics: ['horror'],
    blocked_sources: [],
  });
  ok('the parent sets a daily limit, a bedtime and a blocked topic from the dashboard; the values show');
  await accessible(parent, 'parent dashboard, controls saved');
  await shoot(parent, 'parent-controls', 'desktop');
  const controlsPhoneContext = await browser.newContext({ ...PHONE });
  const controlsPhone = await controlsPhoneContext.newPage();
  await controlsPhone.goto(await link('/v1/parents/mum/sign-in-link'));
  await Promise.all([controlsPhone.waitForURL(/\/pages\/parent$/), controlsPhone.getByRole('button', { name: 'Continue' }).click()]);
  await controlsPhone.goto(`${base}/pages/parent?saved=kid-10#controls-kid-10`);
  await controlsPhone.locator('#controls-now-kid-10').getByText('60 minutes a day').waitFor();
  await shoot(controlsPhone, 'parent-controls', 'phone');
  await controlsPhoneContext.close();
  assert.deepEqual(
    scriptErrors.filter((text) => !text.includes('favicon')),
    [],
    'the dashboard ran with no script or content-security-policy errors',
  );

  // Location sharing: the sign, on screen wherever the child scrolls; off at session end.
  const location = child.getByRole('switch', { name: 'Share my location' });
  await Promise.all([child.waitForURL(/notice=location-on/), location.click()]);
  const sign = child.locator('#location-sign');
  await sign.waitFor();
  await child.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const signBox = await sign.boundingBox();
  assert.ok(signBox && signBox.y >= -1 && signBox.y < 5, `the location sign stays at the top: ${JSON.stringify(signBox)}`);
  await child.evaluate(() => window.scrollTo(0, 0));
  await accessible(child, 'child page, location on');
  await shoot(child, 'child-location-on', 'phone');
  assert.equal((await api('POST', '/v1/children/kid-10/sessions/end', {})).status, 200);
  await child.reload();
  assert.equal(await sign.count(), 0, 'no sign after session end');
  assert.equal(await location.getAttribute('aria-checked'), 'false');
  ok('location sharing shows an always-visible sign and is off after session end');

  // Reset my recommendations: one click, and the page says what happened.
  const resets = async () => {
    const { body } = await api('GET', '/v1/children/kid-10/export');
    return body.ledger.filter((entry) => entry.kind === 'profile_reset').map((entry) => JSON.parse(entry.payload));
  };
  assert.equal((await resets()).length, 0);
  await Promise.all([
    child.waitForURL(/notice=reset/),
    child.getByRole('button', { name: 'Reset my recommendations' }).click(),
  ]);
  await child.getByText('Your recommendations start afresh.', { exact: false }).waitFor();
  const reset = await resets();
  assert.equal(reset.length, 1, JSON.stringify(reset));
  assert.equal(reset[0].purpose, 'recommend-videos');
  assert.deepEqual(reset[0].by, { kind: 'child' });
  assert.equal(await recommend.getAttribute('aria-checked'), 'true', 'the switch stays as it was');
  await accessible(child, 'child page, reset');
  await shoot(child, 'child-reset', 'phone');
  ok('the child resets their recommendations in one click; the service is told (profile_reset)');

  // Switching off: one click.
  await Promise.all([child.waitForURL(/notice=off/), recommend.click()]);
  assert.equal(await recommend.getAttribute('aria-checked'), 'false');
  assert.equal((await decide('kid-10', 'recommend-videos')).reasons[0], 'setting_off');
  ok('switching off is one click');

  // Desktop views of the child's pages, and a 7-year-old's larger layout.
  const childDesktopContext = await browser.newContext({ ...DESKTOP });
  const childDesktop = await childDesktopContext.newPage();
  await childDesktop.goto(await link('/v1/children/kid-10/page-link'));
  await shoot(childDesktop, 'child', 'desktop');
  await Promise.all([
    childDesktop.waitForURL(/\/pages\/child\/switch-on\//),
    childDesktop.getByRole('switch', { name: 'Videos picked for you' }).click(),
  ]);
  await shoot(childDesktop, 'switch-on', 'desktop');
  await childDesktop.goto(`${base}/pages/child`);
  await Promise.all([
    childDesktop.waitForURL(/notice=reset/),
    childDesktop.getByRole('button', { name: 'Reset my recommendations' }).click(),
  ]);
  await shoot(childDesktop, 'child-reset', 'desktop');
  const youngPhone = await browser.newContext({ ...PHONE });
  const young = await youngPhone.newPage();
  await young.goto(await link('/v1/children/kid-7/page-link'));
  assert.equal(await young.locator('body').getAttribute('class'), 'young');
  const [youngSize, olderSize] = [
    await young.locator('h3').first().evaluate((e) => parseFloat(getComputedStyle(e).fontSize)),
    await child.locator('h3').first().evaluate((e) => parseFloat(getComputedStyle(e).fontSize)),
  ];
  assert.ok(youngSize > olderSize, `larger text for 6-9: ${youngSize} > ${olderSize}`);
  await accessible(young, 'child page, 6-9');
  await shoot(young, 'child-young', 'phone');
  ok('a 7-year-old gets larger text and icons');

  // A forged post from the page's own browser without the token is refused.
  const forged = await child.evaluate(async () => {
    const response = await fetch('/pages/child/location', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'value=on',
    });
    return response.status;
  });
  assert.equal(forged, 403);
  assert.equal((await api('GET', '/v1/children/kid-10')).body.geolocation, 'off');
  ok('a form post without the CSRF token is refused (403) and changes nothing');
  // Feedback, from a browser with JavaScript off: "Why am I seeing this?" with "Not for me"
  // and "Report" work as plain forms. The parent's dashboard (script on) stays open.
  await parent.goto(`${base}/pages/parent`);
  await parent.locator('#alerts[data-live="open"]').waitFor();
  await parent.evaluate(() => {
    window.wardSameDocument = true;
  });
  const noScript = await browser.newContext({ ...PHONE, javaScriptEnabled: false });
  const checker = await browser.newContext({ ...PHONE });
  const kid = await noScript.newPage();
  await kid.goto(await link('/v1/children/kid-10/page-link'));
  const probe = await noScript.newPage();
  await probe.setContent('<title>before</title><script>document.title = "script ran"</script>');
  assert.equal(await probe.title(), 'before', "this context runs no page's script");
  await probe.close();
  const prank = { id: 'clip-prank-1', kind: 'video', topics: ['pranks'], source: 'prankstars', tags: ['challenge'] };
  const sad = { id: 'clip-sad-2', kind: 'video', topics: ['sad songs'], source: 'moody-tunes' };
  const why = (item) => `${base}/pages/child/why?setting=recommend-videos&item=${encodeURIComponent(JSON.stringify(item))}`;
  await kid.goto(why(prank));
  await kid.getByRole('heading', { name: 'Why am I seeing this?', level: 1 }).waitFor();
  await kid.getByText('A video about pranks from prankstars', { exact: true }).waitFor();
  const notForMe = kid.getByRole('button', { name: 'Not for me' });
  const reportButton = kid.getByRole('button', { name: 'Report' });
  await accessibleWithoutScript(kid, checker, '"why am I seeing this" page');
  await shoot(kid, 'child-why', 'phone');
  const notForMePresses = await tabTo(kid, notForMe);
  await tabTo(kid, reportButton);
  // A radio group is one Tab stop; the arrow keys choose within it.
  await tabTo(kid, kid.getByRole('radio', { name: 'It upset me or could hurt me' }));
  await kid.keyboard.press('ArrowDown');
  assert.equal(await kid.getByRole('radio', { name: "It's about self-harm or suicide" }).isChecked(), true, 'ArrowDown chooses the next reason');
  ok(`"why am I seeing this": axe-clean; "Not for me" (${notForMePresses} Tab presses), the reasons and "Report" reached by keyboard`);

  await tabTo(kid, notForMe);
  await Promise.all([kid.waitForURL(/notice=hidden/), kid.keyboard.press('Enter')]);
  const hiddenList = kid.locator('#feedback ul.hidden-items');
  const prankLine = hiddenList.locator('li', { hasText: 'A video about pranks from prankstars' });
  await prankLine.waitFor();
  await kid.getByRole('status').getByText("Got it. It's hidden", { exact: false }).waitFor();
  const feedbackNow = async () => (await api('GET', '/v1/children/kid-10/feedback')).body;
  assert.ok(
    JSON.stringify(await feedbackNow()).includes('clip-prank-1'),
    `the API lists the hidden item: ${JSON.stringify(await feedbackNow())}`,
  );
  await accessibleWithoutScript(kid, checker, 'child page, item hidden');
  await shoot(kid, 'child-hidden', 'phone');
  ok('"Not for me" without JavaScript: the child page says it worked and lists the item, with "Show again"');

  // What it holds back is listed too, each with its own "Show again": the child brings one
  // back and keeps the item hidden.
  const heldList = kid.locator('#feedback ul.held-names');
  await heldList.locator('li', { hasText: 'Things about pranks' }).waitFor();
  const tagLine = heldList.locator('li', { hasText: 'Things tagged challenge' });
  await tabTo(kid, tagLine.getByRole('button', { name: 'Show again: Things tagged challenge' }));
  await Promise.all([kid.waitForURL(/notice=released/), kid.keyboard.press('Enter')]);
  await kid.getByRole('status').getByText('Those can show up again.').waitFor();
  assert.equal(await tagLine.count(), 0, 'the tag is no longer listed');
  await prankLine.waitFor();
  const heldNow = (await feedbackNow()).held.map((held) => `${held.kind}:${held.name}`);
  assert.deepEqual(heldNow.sort(), ['source:prankstars', 'topic:pranks'], 'the API agrees');
  await accessibleWithoutScript(kid, checker, 'child page, a held name released');
  ok('one held-back name brought back without JavaScript, by keyboard; the item stays hidden');

  // A report of self-harm content: the policy's help text at once, first on the page.
  await kid.goto(why(sad));
  await tabTo(kid, kid.getByRole('radio', { name: 'It upset me or could hurt me' }));
  await kid.keyboard.press('ArrowDown');
  await tabTo(kid, reportButton);
  await Promise.all([kid.waitForURL(/notice=reported-help/), kid.keyboard.press('Enter')]);
  const help = kid.locator('#help');
  await help.getByRole('heading', { name: "You don't have to deal with this alone" }).waitFor();
  await help.getByText('Talk to a grown-up you trust, or our safety team (Settings, then Help).').waitFor();
  await help.getByText('Childline', { exact: false }).waitFor();
  await help.getByText('0800 1111, or childline.org.uk', { exact: false }).waitFor();
  const [helpBox, firstGroup] = [await help.boundingBox(), await kid.locator('section.group').first().boundingBox()];
  assert.ok(helpBox.y < firstGroup.y, 'the help comes before the settings');
  const reportLine = kid.locator('#feedback ul.reports li', { hasText: 'A video about sad songs from moody-tunes' });
  await reportLine.getByText('Waiting for someone to look at it.').waitFor();
  await accessibleWithoutScript(kid, checker, 'child page, self-harm report');
  await shoot(kid, 'child-report-help', 'phone');
  ok('a self-harm report without JavaScript shows the help text at once, above the settings');

  // The parent's dashboard hears of it live: that a report was made, not what or why.
  const reportAlert = parent.locator('#alert-list li', { hasText: 'kid-10 reported something they saw' });
  await reportAlert.waitFor();
  assert.equal(await parent.evaluate(() => window.wardSameDocument), true, 'the report alert arrived without a reload');
  const parentText = await parent.locator('body').innerText();
  for (const secret of ['clip-sad-2', 'sad songs', 'moody-tunes', 'self-harm', 'clip-prank-1', 'pranks', 'prankstars']) {
    assert.ok(!parentText.includes(secret), `the parent's dashboard never shows "${secret}"`);
  }
  await reportAlert.getByText('you are not told what it was', { exact: false }).waitFor();
  await accessible(parent, 'parent dashboard, report made');
  await shoot(parent, 'parent-report', 'desktop');
  ok("the parent's dashboard says, live, that a report was made, never what, why, or what was hidden");

  // The service's moderators look at it (the API): the child's page follows.
  const { body: open } = await api('GET', '/v1/reports?status=open');
  const report = open.reports.find((r) => r.child === 'kid-10' && r.item.id === 'clip-sad-2');
  assert.ok(report, JSON.stringify(open));
  assert.equal((await api('POST', `/v1/reports/${report.id}/acknowledge`, {})).status, 200);
  await kid.goto(`${base}/pages/child#feedback`);
  await reportLine.getByText('Someone is looking at it now.').waitFor();
  const resolved = await api('POST', `/v1/reports/${report.id}/resolve`, { outcome: 'removed' });
  assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
  await kid.reload();
  await reportLine.getByText("We've had a look. We took it down. Thank you for telling us.").waitFor();
  // Taken down, it cannot be shown again: the hidden list says so instead of offering it.
  const sadLine = hiddenList.locator('li', { hasText: 'A video about sad songs from moody-tunes' });
  await sadLine.getByText('It was taken down after your report, so nobody can see it any more.').waitFor();
  assert.equal(await sadLine.getByRole('button').count(), 0, 'no "Show again" for what was taken down');
  await accessibleWithoutScript(kid, checker, 'child page, report resolved');
  await shoot(kid, 'child-report-resolved', 'phone');
  ok(`acknowledged, then resolved by a moderator: the child's page says "we've had a look" and what was done`);

  // "Show again", by keyboard: the item leaves the list and the guard lets it through again.
  const showAgain = prankLine.getByRole('button', { name: 'Show again: A video about pranks from prankstars' });
  await tabTo(kid, showAgain);
  await Promise.all([kid.waitForURL(/notice=shown/), kid.keyboard.press('Enter')]);
  assert.equal(await prankLine.count(), 0, 'the item is no longer listed');
  assert.ok(!JSON.stringify((await feedbackNow()).hidden).includes('clip-prank-1'), 'the API no longer lists it');
  await accessibleWithoutScript(kid, checker, 'child page, shown again');
  ok('"Show again" without JavaScript: the item disappears from the list of hidden things');

  // A 7-year-old's words, and larger targets.
  await young.goto(why(prank).replace('setting=recommend-videos&', ''));
  await young.getByText("Tap below and we won't show you this again.").waitFor();
  await young.getByText('If it upset you or feels wrong, tell us. A grown-up will look at it.').waitFor();
  const radio = await young.getByRole('radio', { name: 'It upset me or could hurt me' }).boundingBox();
  assert.ok(radio.width >= 24 && radio.height >= 24, `a 6-9 radio is at least 24 px: ${JSON.stringify(radio)}`);
  await accessible(young, '"why am I seeing this" page, 6-9');
  await shoot(young, 'child-why-young', 'phone');
  ok('a 7-year-old reads simpler words on "why am I seeing this", with larger radio buttons');

  // Desktop views of the feedback pages.
  const noScriptDesktop = await browser.newContext({ ...DESKTOP, javaScriptEnabled: false });
  const checkerDesktop = await browser.newContext({ ...DESKTOP });
  const kidDesktop = await noScriptDesktop.newPage();
  await kidDesktop.goto(await link('/v1/children/kid-10/page-link'));
  await kidDesktop.goto(why(prank));
  await accessibleWithoutScript(kidDesktop, checkerDesktop, '"why am I seeing this" page, desktop');
  await shoot(kidDesktop, 'child-why', 'desktop');
  await kidDesktop.goto(`${base}/pages/child#feedback`);
  await shoot(kidDesktop, 'child-report-resolved', 'desktop');
  await noScriptDesktop.close();
  await checkerDesktop.close();
  await noScript.close();
  await checker.close();
  assert.deepEqual(
    scriptErrors.filter((text) => !text.includes('favicon')),
    [],
    'the dashboard ran with no script or content-security-policy errors',
  );
} finally {
  await browser.close();
}
console.log(`browser tests: ${step} passed`);
