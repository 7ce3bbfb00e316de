/**
 * The Databricks sidebar on a real local JupyterHub (the `hub` project; hub_server.py starts it):
 * alice logs in to the hub (DummyAuthenticator's form), her server spawns and JupyterLab opens;
 * the sidebar lists the hub token service's connection `emu`, signed out; "Log in" opens the
 * service's login page in a popup, which goes to the emulator's sign-in page, back to the hub's
 * one callback and on to a page of her server; the sidebar then shows her signed in by itself
 * (the server's event stream), and signed out again after "Log out".
 *
 * Plain Playwright pages, not Galata's `page` fixture: Galata sets up its test folder through the
 * Jupyter REST API at the base URL, which here is the hub (the server is behind hub login).
 * Serial: one browser context, logged in to the hub once, for every step.
 */
import type { BrowserContext, Locator, Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

import { browserText } from './helpers';

interface IHubSeed {
  url: string;
  user: string;
  password: string;
  connection: string;
  emulator: { url: string; user: { username: string; password: string } };
}

/** Written by hub_server.py once the hub, its service and the emulator are up. */
function hubSeed(): IHubSeed {
  const port = new URL(test.info().project.use.baseURL!).port;
  const file = path.join(__dirname, '..', `.hub-${port}.json`);
  return JSON.parse(fs.readFileSync(file, 'utf-8')) as IHubSeed;
}

const PANEL = 'jp-dbx-auth-panel';
const SERVICE = 'dbx-auth';

test.describe.configure({ mode: 'serial' });

let context: BrowserContext;
let lab: Page;
let seed: IHubSeed;

test.beforeAll(async ({ browser }) => {
  seed = hubSeed();
  context = await browser.newContext();
});

test.afterAll(async () => {
  await context?.close();
});

function card(panel: Locator, name: string): Locator {
  return panel.locator(`.jp-DbxAuth-connection[data-connection="${name}"]`);
}

function statusOf(panel: Locator, name: string): Locator {
  return card(panel, name).locator('.jp-DbxAuth-status').first();
}

/**
 * What the hub token service itself says of alice's connection, read by the browser context as
 * her own status request: the truth behind the sidebar, independent of it. The context holds the
 * service's hub-OAuth cookie once a sign-in window has been through the service's login page.
 */
async function serviceStatus(): Promise<{ status: string; identity?: string | null }> {
  const reply = await context.request.get(`${seed.url}services/${SERVICE}/api/status`);
  expect(reply.status()).toBe(200);
  const body = await reply.json();
  const entry = body.connections.find((c: { name: string }) => c.name === seed.connection);
  expect(entry).toBeTruthy();
  return entry;
}

/** Press "Log in" on a card; the popup it opens, once at the emulator's sign-in page. */
async function startSignIn(emu: Locator): Promise<Page> {
  const popupPromise = lab.waitForEvent('popup');
  await emu.getByRole('button', { name: 'Log in' }).click();
  const popup = await popupPromise;
  await popup.waitForURL(/\/authorize\?/);
  // The service's login page sent it to Databricks with the hub's one callback URL.
  const authorize = new URL(popup.url());
  expect(authorize.origin).toBe(new URL(seed.emulator.url).origin);
  expect(authorize.searchParams.get('redirect_uri')).toBe(
    `${seed.url}services/${SERVICE}/callback`
  );
  return popup;
}

async function openPanel(page: Page): Promise<Locator> {
  const tab = page.locator(`.lm-TabBar.jp-SideBar li.lm-TabBar-tab[data-id="${PANEL}"]`);
  await expect(tab).toBeVisible();
  if (!(await tab.getAttribute('class'))?.includes('lm-mod-current')) {
    await tab.click();
  }
  const panel = page.locator(`#${PANEL}`);
  await expect(panel).toBeVisible();
  return panel;
}

test('alice logs in to the hub; her server spawns and JupyterLab opens', async () => {
  test.setTimeout(180_000); // the first spawn of a single-user server on a loaded machine
  lab = await context.newPage();
  await lab.goto(`${seed.url}hub/login`);
  await lab.fill('#username_input', seed.user);
  await lab.fill('#password_input', seed.password);
  await lab.click('#login_submit');
  // The hub spawns her server (the spawn-pending page reloads itself) and sends her to /lab.
  await lab.waitForURL(new RegExp(`/user/${seed.user}/lab`), { timeout: 150_000 });
  await expect(lab.locator('#jupyterlab-splash')).toHaveCount(0, { timeout: 60_000 });
  await openPanel(lab);
});

test('the sidebar lists the hub connection, signed out', async () => {
  const panel = await openPanel(lab);
  await expect(card(panel, seed.connection)).toBeVisible();
  await expect(statusOf(panel, seed.connection)).toHaveText('Not signed in');
  await expect(card(panel, seed.connection).getByRole('button', { name: 'Log in' })).toBeVisible();
});

test('a sign-in window closed before the end: not signed in, and Log in offered again', async () => {
  const panel = await openPanel(lab);
  const emu = card(panel, seed.connection);
  const popup = await startSignIn(emu);
  await expect(statusOf(panel, seed.connection)).toHaveText(/Waiting for the sign-in/);
  await popup.close(); // the person closes the window on Databricks' sign-in page

  await expect(emu.getByRole('button', { name: 'Log in' })).toBeVisible({ timeout: 30_000 });
  await expect(statusOf(panel, seed.connection)).toHaveText(/not signed in/i);
  await expect(statusOf(panel, seed.connection)).not.toHaveText(/Signed in as/);
  expect((await serviceStatus()).status).toBe('logged_out');
});

test('log in through the hub service in a popup; the sidebar shows alice signed in by itself', async () => {
  const panel = await openPanel(lab);
  const emu = card(panel, seed.connection);
  // Set on the lab page now: still there at the end means the page was never reloaded.
  await lab.evaluate(() => ((window as any).__dbxHubUiMarker = 1));

  const popup = await startSignIn(emu);
  const visited: string[] = [];
  popup.on('framenavigated', frame => {
    if (frame === popup.mainFrame()) {
      visited.push(frame.url());
    }
  });
  const user = seed.emulator.user;
  await popup.fill('input[name="username"]', user.username);
  await popup.fill('input[name="password"]', user.password);
  await popup.click('button[value="allow"]');

  const signedIn = new RegExp(`^Signed in as ${user.username.replace(/\./g, '\\.')}( · |$)`);
  await expect(statusOf(panel, seed.connection)).toHaveText(signedIn, { timeout: 30_000 });
  await expect(emu.getByRole('button', { name: 'Log out' })).toBeVisible();
  expect(await lab.evaluate(() => (window as any).__dbxHubUiMarker)).toBe(1);

  // The way back went through the hub's one callback, then to a page of alice's own server.
  const callback = `${seed.url}services/${SERVICE}/callback?`;
  expect(visited.some(u => u.startsWith(callback))).toBe(true);
  const after = visited.slice(visited.findIndex(u => u.startsWith(callback)) + 1);
  expect(after.some(u => u.startsWith(`${seed.url}user/${seed.user}/`))).toBe(true);

  const status = await serviceStatus();
  expect(status.status).toBe('ok');
  expect(status.identity).toBe(user.username);
  // The browser holds no token: the lab page's text, storages and cookies.
  const held = await browserText(lab);
  expect(held).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./); // a JWT
  expect(held).not.toMatch(/refresh_token|access_token/);
  if (!popup.isClosed()) {
    await popup.close();
  }
});

test('log out: signed out in the sidebar and at the hub service', async () => {
  const panel = await openPanel(lab);
  const emu = card(panel, seed.connection);
  await emu.getByRole('button', { name: 'Log out' }).click();
  await expect(statusOf(panel, seed.connection)).toHaveText('Not signed in');
  await expect(emu.getByRole('button', { name: 'Log in' })).toBeVisible();
  expect((await serviceStatus()).status).toBe('logged_out');
});
