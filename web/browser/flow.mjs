// A whole IdP-migration case through the pages, in Chromium: the
// distributor opens it in the wizard, every party signs in through the
// sign-in page in its own browser context and does its part, until the
// case shows completed. Run by cmd/cmr's TestBrowser* against `cmr dev`:
//
//   CMR_URL=http://127.0.0.1:8080 CMR_SECTOR=VO CMR_SHOTS=out node flow.mjs
//
// It prints what it does, writes a screenshot of each main page to
// CMR_SHOTS, and exits non-zero with the reason when a step fails.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const base = process.env.CMR_URL;
const sector = process.env.CMR_SECTOR || 'VO';
const shots = process.env.CMR_SHOTS || 'test-output';
mkdirSync(shots, { recursive: true });

const log = (...a) => console.log(`[${sector}]`, ...a);
const fail = (msg) => { throw new Error(msg); };

const scenario = sector === 'VO'
  // find: what the distributor types to find the school (part of its
  // name: pick the match; its BRIN: straight on).
  ? { school: 'lyceum-de-linde', find: 'linde', pick: 'Lyceum De Linde', schoolUser: 'ICT-coördinator De Linde', switchOn: '2027-07-15',
      from: { quadrant: '1', idp: 'Magister' }, to: { quadrant: '1', idp: 'itslearning' } }
  : { school: 'roc-rivierland', find: '02cd', schoolUser: 'ICT-coördinator Rivierland', switchOn: '2027-07-10',
      from: { eck: 'true', kind: 'elo' }, to: { eck: 'true', kind: 'distributor_portal' } };
const likas = [
  { org: 'uitgeverij-alfa', user: 'Licentiekantoor Alfa', key: 'a' },
  { org: 'uitgeverij-beta', user: 'Licentiekantoor Beta', key: 'b' },
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic'],
});

let shotCount = 0;
async function shot(page, name) {
  shotCount++;
  await page.screenshot({ path: join(shots, `${sector.toLowerCase()}-${String(shotCount).padStart(2, '0')}-${name}.png`), fullPage: true });
}

// signIn opens a fresh browser context and signs in through the page.
async function signIn(name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, locale: 'nl-NL' });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => fail(`script error on ${page.url()}: ${e.message}`));
  await page.goto(base + '/login');
  await page.getByRole('button', { name, exact: true }).click();
  await page.waitForURL(base + '/');
  if (!(await page.getByRole('heading', { name: 'Mijn werk' }).isVisible())) fail(`${name}: no "Mijn werk" after sign-in`);
  return page;
}

async function refusal(page) {
  const err = page.locator('[role=alert]');
  return (await err.count()) ? (await err.first().innerText()).trim() : '';
}

// fillStep fills a step's form as its owner would.
async function fillStep(form) {
  for (const input of await form.locator('input:not([type=hidden]), select, textarea').all()) {
    const name = await input.getAttribute('name');
    const tag = await input.evaluate((el) => el.tagName.toLowerCase());
    const type = (await input.getAttribute('type')) || '';
    if (tag === 'select') {
      // Ja, or else the first of a field's options (after "kies").
      if (name !== 'redo_step') {
        const values = await input.locator('option').evaluateAll((os) => os.map((o) => o.value));
        await input.selectOption(values.includes('true') ? 'true' : values.find((v) => v !== ''));
      }
    } else if (type === 'checkbox') {
      await input.check();
    } else if (type === 'date') {
      // A day something was done (it has a max, today) is yesterday.
      const max = await input.getAttribute('max');
      await input.fill(max ? new Date(Date.now() - 86400e3).toISOString().slice(0, 10) : '2027-06-01');
    } else if (type === 'datetime-local') {
      await input.fill('2027-07-15T09:00');
    } else if (type === 'number') {
      // The list's row count: left empty, the server takes the list's.
    } else if (tag === 'textarea' && (await input.getAttribute('placeholder'))) {
      await input.fill('DDI-0001');
    } else {
      await input.fill(name === 'note' ? 'gedaan via de browser' : 'afgerond');
    }
  }
}

async function upload(page, caseURL, name, content) {
  await page.goto(caseURL + '/lists');
  await page.locator('#f-file').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(content, 'utf8') });
  await page.getByRole('button', { name: 'Uploaden' }).click();
  await page.waitForLoadState();
}

async function download(page, linkLocator) {
  const [dl] = await Promise.all([page.waitForEvent('download'), linkLocator.click()]);
  return readFileSync(await dl.path(), 'utf8').replace(/^\ufeff/, '');
}

const voList = 'Voornaam;Tussenvoegsel;Achternaam;Postcode;Huisnummer;Oude identiteit (was);Nieuwe identiteit (wordt)\n' +
  'Jan;;Berg;1234 AB;1;jberg@magis.01AB;jan.berg@lyceum.example\nSara;van;Dijk;1234 AB;2;sdijk@magis.01AB;sara.vandijk@lyceum.example\n';
const mboHead = 'Voorletters;Voornaam;Achternaam;School locatie;nlEduPersonProfileId oud;nlEduPersonRealId oud';
const mboPart = (k) => `${mboHead}\nS.;Student${k}0;Achter;Zwolle;s${k}0@roc.adfs.nl;${k}0@roc.real\nS.;Student${k}1;Achter;Zwolle;s${k}1@roc.adfs.nl;${k}1@roc.real\n`;

// listsBefore does, before step `key`, the list work the step needs.
async function listsBefore(page, caseURL, key, actor) {
  if (sector === 'VO' && key === '11') {
    // First a list with a mistake: the page shows the problem by row and column.
    await upload(page, caseURL, 'fout.csv', voList.replace('jberg@magis.01AB', ''));
    const report = page.locator('#upload-problems');
    if (!(await report.isVisible())) fail('a list with an empty "was" cell was not refused with a report');
    const text = await report.innerText();
    if (!/\b2\b/.test(text) || !text.includes('Oude identiteit (was)')) fail(`the report does not name row 2 and the "was" column:\n${text}`);
    await shot(page, 'list-refused');
    await upload(page, caseURL, 'was-wordt.csv', voList);
    if (!(await page.getByText('De lijst is opgeslagen.').isVisible())) fail(`list not stored: ${await refusal(page)}`);
    await shot(page, 'list-stored');
  }
  if (sector === 'MBO' && key === '8b') {
    await page.goto(caseURL + '/lists');
    const merged = await download(page, page.locator('a[href$="/lists/merged?type=csv"]'));
    const lines = merged.trim().split(/\r?\n/);
    const head = lines[0].split(';');
    const col = head.indexOf('nlEduPersonProfileId nieuw');
    if (col < 0 || lines.length !== 5) fail(`merged list: want the new-identity column and 4 students, got:\n${merged}`);
    // The file fills in all rows but the last, which stays open ...
    const filled = [lines[0], ...lines.slice(1).map((l, i) => {
      const cells = l.split(';');
      cells[col] = i === lines.length - 2 ? '' : cells[4].replace('@roc.adfs.nl', '@roc.nieuw.nl');
      return cells.join(';');
    })].join('\n') + '\n';
    await upload(page, caseURL, 'aangevuld.csv', filled);
    if (!(await page.getByText('De lijst is opgeslagen.').isVisible())) fail(`completed list not stored: ${await refusal(page)}`);
    // ... and the school fills it in on the page, row by row.
    await page.getByRole('link', { name: 'Nieuwe identiteiten per regel invullen' }).click();
    if (!(await page.getByText('3 van 4 regels ingevuld').isVisible())) fail(`the rows page does not count 3 of 4 filled in:\n${await page.locator('main').innerText()}`);
    await page.getByRole('link', { name: 'Alleen open regels' }).click();
    const cell = page.locator('input[name$=".profile_new"][type="text"]');
    if ((await cell.count()) !== 1) fail(`the open rows: want 1, got ${await cell.count()}`);
    // The school's columns come first, then the publisher's: ProfileId oud is the 7th cell.
    const old = (await page.locator('tbody tr td').nth(6).innerText()).trim();
    await cell.fill(old.replace('@roc.adfs.nl', '@roc.nieuw.nl'));
    await shot(page, 'mbo-list-rows');
    await page.getByRole('button', { name: 'Opslaan' }).click();
    if (!(await page.getByText('Opgeslagen als nieuwe versie').isVisible())) fail(`the row was not saved: ${await refusal(page)}`);
    if (!(await page.getByText('4 van 4 regels ingevuld').isVisible())) fail('the rows page does not count 4 of 4 filled in after the save');
    await shot(page, 'mbo-list-completed');
  }
}

// refusalSeen: the flow has sent a step's form empty once, to see its
// refusal brought into view (refusal.js).
let refusalSeen = false;

// refusedInView sends the step's form empty: where that is refused, the
// reason must be in view and have the focus, however far down the page
// the form was.
async function refusedInView(page, form, key) {
  await form.getByRole('button').click();
  await page.waitForLoadState();
  if (!(await refusal(page))) return; // a step with nothing required went through
  refusalSeen = true;
  const alert = page.locator('[role=alert]').first();
  await page.waitForFunction(() => document.activeElement && document.activeElement.getAttribute('role') === 'alert', null, { timeout: 5000 })
    .catch(() => fail(`step ${key}: the refusal did not get the focus`));
  const inView = await alert.evaluate((el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; });
  if (!inView) fail(`step ${key}: the refusal is out of view`);
  log(`step ${key} sent empty: refused, the reason in view`);
  await page.goto(page.url().replace(/\/steps\/.*$/, ''));
}

// doSteps completes every open step of the case that is this actor's.
async function doSteps(page, caseURL, actor) {
  let done = 0;
  for (let guard = 0; guard < 20; guard++) {
    await page.goto(caseURL);
    const form = page.locator('form.act[action*="/steps/"]').first();
    if ((await form.count()) === 0) return done;
    const key = (await form.getAttribute('action')).split('/').pop();
    await listsBefore(page, caseURL, key, actor);
    await page.goto(caseURL);
    const again = page.locator(`form.act[action$="/steps/${key}"]`);
    if (!refusalSeen) await refusedInView(page, again, key);
    await fillStep(again);
    await again.getByRole('button').click();
    await page.waitForLoadState();
    const why = await refusal(page);
    // MBO 8a waits for every publisher's part: the others come first.
    if (why && sector === 'MBO' && key === '8a' && why.includes('nog niet ontvangen')) return done;
    if (why) fail(`${actor}: step ${key} refused: ${why}`);
    log(`${actor} completed step ${key}`);
    done++;
  }
  fail(`${actor}: steps keep coming back`);
}

// liKaWork: upload the "was" part (MBO), close open tickets from the
// ticket page after downloading the list.
async function liKaWork(page, caseURL, lika) {
  let done = 0;
  await page.goto(caseURL + '/lists');
  const uploadForm = page.locator('form[action^="/tickets/"][action$="/list"]');
  if (sector === 'MBO' && (await uploadForm.count()) && (await page.locator('table tbody tr').count()) === 0) {
    await upload(page, caseURL, `deel-${lika.key}.csv`, mboPart(lika.key));
    if (!(await page.getByText('De lijst is opgeslagen.').isVisible())) fail(`${lika.user}: part not stored: ${await refusal(page)}`);
    log(`${lika.user} uploaded its part`);
    done++;
  }
  await page.goto(base + '/');
  const ticketLinks = page.locator('a[href^="/tickets/"]');
  for (const href of await ticketLinks.evaluateAll((as) => as.map((a) => a.getAttribute('href')))) {
    await page.goto(base + href);
    const close = page.locator('form[action$="/close"]');
    if ((await close.count()) === 0) continue;
    const lists = page.locator('a[href*="/lists/"][href$="type=csv"]');
    if (await lists.count()) {
      const got = await download(page, lists.last());
      if (got.trim().split(/\r?\n/).length < 2) fail(`${lika.user}: the downloaded list has no rows`);
    }
    await shot(page, `ticket-${lika.key}`);
    await close.locator('textarea[name=text]').fill('Was-wordt verwerkt');
    await close.getByRole('button', { name: 'Afmelden' }).click();
    await page.waitForLoadState();
    const why = await refusal(page);
    if (why) fail(`${lika.user}: closing ${href} refused: ${why}`);
    log(`${lika.user} closed ${href}`);
    done++;
  }
  return done;
}

// returnLists: the distributor hands the completed MBO list to each LiKa.
async function returnLists(page, caseURL) {
  let done = 0;
  for (;;) {
    await page.goto(caseURL);
    const btn = page.getByRole('button', { name: 'Lijst teruggeven' }).first();
    if ((await btn.count()) === 0) return done;
    await btn.click();
    await page.waitForLoadState();
    const why = await refusal(page);
    if (why) return done; // not yet: the school's completed list is missing
    log('distributor returned the list to a LiKa');
    done++;
  }
}

try {
  // The distributor opens the case in the wizard.
  const login = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await login.goto(base + '/login');
  await shot(login, 'login');
  await login.close();

  const dist = await signIn('Supportdesk Distri Noord');
  await dist.getByRole('link', { name: 'Nieuwe zaak' }).first().click();
  await dist.getByLabel('School').fill(scenario.find);
  await dist.getByRole('button', { name: 'Verder' }).click();
  if (scenario.pick) {
    await dist.waitForURL(/\/cases\/new\?q=/);
    await shot(dist, 'wizard-schools-found');
    await dist.getByRole('link', { name: new RegExp(scenario.pick) }).click();
  }
  await dist.waitForURL(new RegExp('/cases/new\\?school=' + scenario.school + '$'));
  for (const side of ['from', 'to']) {
    const e = scenario[side];
    if (sector === 'VO') {
      await dist.locator(`#f-${side}-quadrant`).selectOption(e.quadrant);
      await dist.locator(`#f-${side}-idp`).fill(e.idp);
      await dist.locator(`#f-${side}-idp`).dispatchEvent('change');
    } else {
      await dist.locator(`#f-${side}-eck`).selectOption(e.eck);
      await dist.locator(`#f-${side}-kind`).selectOption(e.kind);
    }
  }
  // A date in the past is refused at once, in Dutch, by the live check
  // (a month ago: a date years away is refused as a year mistyped).
  await dist.locator('#f-switch').fill(new Date(Date.now() - 30 * 86400e3).toISOString().slice(0, 10));
  await dist.locator('#f-switch').dispatchEvent('change');
  await dist.getByText(/ligt vóór de aanvraagdatum/).first().waitFor({ timeout: 10000 })
    .catch(async () => fail(`a switch date in the past: no Dutch refusal in the live check (${await refusal(dist)})`));
  await dist.locator('#f-switch').fill(scenario.switchOn);
  await dist.locator('#f-switch').dispatchEvent('change');
  for (const l of likas) await dist.locator(`input[name=likas][value="${l.org}"]`).check();
  // The live check answers as the form is filled in (htmx), before submitting.
  await dist.locator('#outcome').waitFor({ timeout: 10000 });
  const outcome = await dist.locator('#outcome').innerText();
  if (!outcome.includes('Dit kan als zaak')) fail(`live scenario check: ${outcome}`);
  await shot(dist, 'wizard-checked');
  await dist.getByRole('button', { name: 'Zaak openen' }).click();
  await dist.waitForURL(/\/cases\/[0-9A-Z]+-\d{8}/);
  const caseURL = dist.url().split('#')[0];
  const caseID = caseURL.split('/').pop();
  log(`opened ${caseID}`);
  await shot(dist, 'case-opened');

  const school = await signIn(scenario.schoolUser);
  if (!(await school.getByRole('link', { name: caseID }).first().isVisible())) fail('the school does not see its new case on "Mijn werk"');
  await shot(school, 'school-home');
  const kn = await signIn('Kennisnet Support');
  const lika = [];
  for (const l of likas) lika.push({ ...l, page: await signIn(l.user) });

  // Each party does what waits for it, until nothing moves.
  for (let round = 1; round <= 30; round++) {
    let moved = 0;
    moved += await doSteps(dist, caseURL, 'distributor');
    if (sector === 'MBO') moved += await returnLists(dist, caseURL);
    moved += await doSteps(school, caseURL, 'school');
    moved += await doSteps(kn, caseURL, 'kennisnet');
    for (const l of lika) moved += await liKaWork(l.page, caseURL, l);
    await dist.goto(caseURL);
    const status = await dist.locator('h1 .status').getAttribute('class');
    if (status.includes('completed')) {
      log(`case completed after ${round} rounds`);
      await shot(dist, 'case-completed');
      break;
    }
    if (moved === 0) {
      await shot(dist, 'stuck');
      fail(`nothing moved in round ${round}; case status ${status}`);
    }
  }
  await dist.goto(caseURL);
  if (!(await dist.locator('h1 .status.completed').isVisible())) fail('the case does not show completed');
  if (!(await dist.getByText('afgerond').first().isVisible())) fail('no "afgerond" on the completed case');

  // The pages every actor uses, for a person to look at.
  await dist.goto(base + '/cases?status=');
  await shot(dist, 'case-list');
  await lika[0].page.goto(base + '/');
  await shot(lika[0].page, 'lika-home');
  await kn.goto(caseURL);
  await shot(kn, 'kennisnet-case');
  // The organisation's admin page (every demo user administers its own).
  await dist.getByRole('link', { name: 'Beheer' }).click();
  // Wait for the page: isVisible() does not, and the click only starts navigating.
  await dist.waitForURL('**/admin');
  if (!(await dist.getByRole('heading', { name: 'API-tokens' }).waitFor({ timeout: 10000 }).then(() => true, () => false))) fail('no API tokens on the admin page');
  await dist.getByLabel('Waarvoor (welk systeem)').fill('Ticketsysteem');
  await dist.getByRole('button', { name: 'Token maken' }).click();
  if (!(await dist.locator('#token-value').isVisible())) fail(`no new token shown: ${await refusal(dist)}`);
  await shot(dist, 'admin');
  // A tablet (800px wide): the pages fit without sideways scrolling.
  for (const [page, path, name] of [[dist, caseURL, 'case-tablet'], [dist, base + '/cases/new?school=' + scenario.school, 'wizard-tablet'], [lika[0].page, base + '/', 'lika-home-tablet']]) {
    await page.setViewportSize({ width: 800, height: 1000 });
    await page.goto(path);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    if (wide > 800) fail(`${path} is ${wide}px wide on an 800px tablet`);
    await shot(page, name);
    await page.setViewportSize({ width: 1280, height: 900 });
  }
  // English is a click away.
  await school.goto(caseURL);
  await school.getByRole('link', { name: 'English' }).click();
  await school.waitForURL(caseURL);
  if (!(await school.getByRole('heading', { name: 'Audit trail' }).isVisible())) fail('the English switch did not translate the case page');
  await shot(school, 'case-english');
  log('ok');
} catch (e) {
  console.error(`[${sector}] FAILED: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
