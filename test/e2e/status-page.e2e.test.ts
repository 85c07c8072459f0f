import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { loadConfig } from '../../services/config.ts';
import { startGridflex, type Gridflex } from '../../services/main.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN = 'status-page-admin-token-0123456789';

describe('e2e: the status page in a real browser', function () {
  this.timeout(90_000);
  let g: Gridflex;
  let browser: Browser;
  let dir: string;

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      if (process.env.CI) throw new Error(`CI requires Chromium at ${CHROMIUM}`);
      console.warn(`note: no Chromium at ${CHROMIUM}; browser test skipped`);
      this.skip();
    }
    dir = await mkdtemp(path.join(tmpdir(), 'gridflex-page-'));
    g = await startGridflex(loadConfig({ PORT: '0', HOST: '127.0.0.1', GRIDFLEX_DATA_DIR: dir, GRIDFLEX_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'silent', MQTT_EMBEDDED_PORT: '0' }));
    const headers = { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' };
    const put = await fetch(`${g.url}/api/v1/topology`, {
      method: 'PUT', headers,
      body: JSON.stringify({ nodes: [
        { id: 'area-page', kind: 'grid_area', parentId: null, name: 'Page feeder', importLimitKw: 40 },
        { id: 'cs-page', kind: 'station', parentId: 'area-page' },
        { id: 'cs-page-1', kind: 'evse', parentId: 'cs-page', maxPowerKw: 22, ocppEvseId: 1 },
      ] }),
    });
    assert.equal(put.status, 200);
    assert.equal((await fetch(`${g.url}/api/v1/grid-areas/area-page/reallocate`, { method: 'POST', headers })).status, 200);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  });

  after(async () => {
    await browser?.close();
    await g?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('asks for the token, then shows grid areas with a chart, stations and messages', async () => {
    const page = await browser.newPage();
    const first = await page.goto(g.url + '/');
    assert.equal(first?.status(), 401);
    await page.fill('input[name=token]', ADMIN);
    await page.click('button');
    await page.waitForSelector('h2');
    const text = await page.textContent('body');
    assert.match(text ?? '', /Grid area area-page — Page feeder/);
    assert.match(text ?? '', /Connected stations \(0\)/);
    assert.match(text ?? '', /Recent outbound messages/);
    assert.match(text ?? '', /OSCP peers \(0\)/);
    assert.equal(await page.locator('svg path').count() >= 2, true, 'the chart draws its series');
    await page.screenshot({ path: path.join(dir, 'status.png'), fullPage: true });
    // the token is kept in an HttpOnly cookie, not in the URL
    assert.equal(new URL(page.url()).search, '');
    const cookies = await page.context().cookies();
    assert.ok(cookies.some((c) => c.name === 'gridflex_admin' && c.httpOnly));
  });

  it('refuses a wrong token', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`${g.url}/?token=wrong-token`);
    assert.equal(res?.status(), 401);
    assert.match((await page.textContent('body')) ?? '', /Wrong token/);
  });
});
