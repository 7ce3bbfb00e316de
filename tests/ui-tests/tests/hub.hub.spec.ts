/**
 * The Databricks sidebar on a real local JupyterHub (the `hub` project; hub_server.py starts it):
 * alice logs in to the hub (DummyAuthenticator's form), her server spawns and JupyterLab opens;
 * the sidebar lists the hub token service's connection `emu`, signed out; "Log in" opens the
 * service's login page in a popup, which goes to the emulator's sign-in page, back to the hub's
 * one callback and on to a page of her server; the sidebar then shows her signed in by itself
 * (no reload); `%dbx_connect emu` in a notebook of hers answers as alice; she is signed out
 * again after "Log out". Last, a sign-in window closed before the end must leave the sidebar not
 * signed in, offering "Log in" again.
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

/** alice's server's own listing of the hub connection (`GET dbx-auth/api/connections`), as
 * JupyterLab asks for it: hub cookie and the X-XSRFToken header. */
async function serverConnection(): Promise<{ status: string; identity?: string | null }> {
  const prefix = `/user/${seed.user}/`;
  const xsrf = (await context.cookies()).find(c => c.name === '_xsrf' && c.path === prefix);
  const reply = await context.request.get(`${seed.url}user/${seed.user}/dbx-auth/api/connections`, {
    headers: { 'X-XSRFToken': xsrf?.value ?? '' }
  });
  expect(reply.status()).toBe(200);
  const body = await reply.json();
  return body.connections.find((c: { name: string }) => c.name === seed.connection);
}

/** The notebook's kernel can take a cell: JupyterLab drops a run asked for while it is still
 * connecting (as Galata's `runCell` does, wait for the status bar to say so). */
async function kernelReady(): Promise<void> {
  await lab.waitForFunction(
    () => {
      const text = document.querySelector('#jp-main-statusbar')?.textContent ?? '';
      return text.includes('Idle') && !/Connecting|Initializing|Starting/.test(text);
    },
    undefined,
    { timeout: 90_000 }
  );
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

test('the sidebar follows the server’s event stream under the hub ("Live")', async () => {
  // The stream is an EventSource: cookie-authenticated and unable to send the X-XSRFToken
  // header, so JupyterHub's single-user auth (jupyterhub/_xsrf_utils.py, `_needs_check_xsrf`:
  // Sec-Fetch-Mode "cors" is checked even for a GET) wants `_xsrf` in its query string, which
  // the sidebar adds from the `_xsrf` cookie (labextension/src/urls.ts `eventsUrlOf`).
  const panel = await openPanel(lab);
  await expect(panel.locator('.jp-DbxAuth-footer')).toContainText('Live', { timeout: 5_000 });
});

test('log in in a popup through the hub; the sidebar shows alice signed in by itself', async () => {
  const panel = await openPanel(lab);
  const emu = card(panel, seed.connection);
  // Set on the lab page now: still there at the end means the page was never reloaded.
  await lab.evaluate(() => ((window as any).__dbxHubUiMarker = 1));

  const popup = await startSignIn(emu);
  // Every page the popup asks for, redirects included (each hop is a request of its own).
  const visited: string[] = [];
  popup.on('request', request => {
    if (request.isNavigationRequest() && request.frame() === popup.mainFrame()) {
      visited.push(request.url());
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
  const back = visited.findIndex(u => u.startsWith(callback));
  expect(back, `the popup went through ${visited.join(' → ')}`).toBeGreaterThanOrEqual(0);
  const after = visited.slice(back + 1);
  expect(after.some(u => u.startsWith(`${seed.url}user/${seed.user}/`))).toBe(true);

  const atService = await serviceStatus();
  expect(atService.status).toBe('ok');
  expect(atService.identity).toBe(user.username);
  // The browser holds no token: the lab page's text, storages and cookies.
  const held = await browserText(lab);
  expect(held).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./); // a JWT
  expect(held).not.toMatch(/refresh_token|access_token/);
  if (!popup.isClosed()) {
    await popup.close();
  }
});

test('insert %dbx_connect into a notebook and run it: alice, through the hub', async () => {
  test.setTimeout(150_000); // a kernel starts on her server
  // A new notebook from the launcher (JupyterLab opens one in the main area at start).
  await lab.locator('.jp-LauncherCard[data-category="Notebook"]').first().click();
  const notebook = lab.locator('.jp-NotebookPanel').last();
  await expect(notebook).toBeVisible();
  await kernelReady();
  const panel = await openPanel(lab);
  await card(panel, seed.connection).getByRole('button', { name: 'Insert %dbx_connect' }).click();
  const cell = notebook.locator('.jp-CodeCell').first();
  await expect(cell.locator('.jp-InputArea')).toContainText(`%dbx_connect ${seed.connection}`);

  await cell.locator('.jp-InputArea-editor').click();
  await kernelReady();
  await lab.keyboard.press('Shift+Enter');
  await expect(cell.locator('.jp-InputPrompt')).toHaveText(/\[(\*|\d+)\]/); // it runs
  // The kernel's token came from her server, which got it from the hub service: her identity.
  await expect(cell.locator('.jp-OutputArea-output').last()).toContainText(
    seed.emulator.user.username,
    { timeout: 90_000 }
  );
});

test('log out: signed out in the sidebar and at the hub service', async () => {
  const panel = await openPanel(lab);
  const emu = card(panel, seed.connection);
  await emu.getByRole('button', { name: 'Log out' }).click();
  await expect(statusOf(panel, seed.connection)).toHaveText('Not signed in');
  await expect(emu.getByRole('button', { name: 'Log in' })).toBeVisible();
  expect((await serviceStatus()).status).toBe('logged_out');
});

test('a sign-in window closed before the end: not signed in, Log in offered again', async () => {
  const panel = await openPanel(lab);
  const emu = card(panel, seed.connection);
  const popup = await startSignIn(emu);
  // The sidebar sees the window close and gives the sign-in up: it asks the server to cancel.
  const cancelled = lab.waitForResponse(
    r =>
      r.request().method() === 'POST' &&
      r.url().includes(`/api/connections/${seed.connection}/cancel`),
    { timeout: 15_000 } // the sidebar checks the window every 0.5 s, then waits 1.5 s
  );
  await popup.close(); // the person closes the window on Databricks' sign-in page
  expect((await cancelled).status()).toBe(200);

  await expect(emu.getByRole('button', { name: 'Log in' })).toBeVisible();
  await expect(statusOf(panel, seed.connection)).toHaveText(/not signed in/i);
  // The service never saw the window close: its sign-in stays started there until its TTL,
  // but nobody is signed in.
  const atService = await serviceStatus();
  expect(atService.status).not.toBe('ok');
  expect(atService.identity ?? null).toBeNull();
  // What the server says now, as a reloaded lab page (or a kernel) would hear it: the
  // given-up sign-in must not come back as pending from the service's status.
  const listed = await serverConnection();
  expect(listed.status).toBe('logged_out');
});
