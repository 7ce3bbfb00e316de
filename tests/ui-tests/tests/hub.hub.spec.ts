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
  await expect(
    card(panel, seed.connection).getByRole('button', { name: 'Log in' })
  ).toBeVisible();
});
