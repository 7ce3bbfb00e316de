/**
 * The panel tells the truth (issue 14), each case as a newcomer met it: Deny at the sign-in page,
 * a sign-in window closed without signing in, Cancel, a logout and then a notebook waiting for a
 * sign-in, the status bar with several connections, a service principal's credentials, and the
 * picker's defaults. Serial: each step starts from the server state the previous one left.
 */
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';

import { expect, test } from './fixtures';
import { card, emulatorSeed, openPanel, screenshot, statusOf } from './helpers';

test.describe.configure({ mode: 'serial' });

test.use({ autoGoto: true });

/** The Log in / Log out / Cancel sign-in buttons a card shows, by name. */
async function actions(conn: Locator): Promise<string[]> {
  const names = await conn.locator('.jp-DbxAuth-actions button').allInnerTexts();
  return names.filter(n => /^(Log in|Log out|Cancel sign-in)$/.test(n));
}

/** Press Log in on `name` and return the sign-in window, at the emulator's sign-in page. */
async function startLogin(page: IJupyterLabPageFixture, panel: Locator, name: string) {
  const popupPromise = page.waitForEvent('popup');
  await card(panel, name).getByRole('button', { name: 'Log in' }).click();
  const popup = await popupPromise;
  await popup.waitForURL(/\/authorize\?/);
  await expect(statusOf(panel, name)).toHaveText(/Waiting for the sign-in/);
  return popup;
}

async function fillCredentials(popup: Page): Promise<void> {
  const alice = emulatorSeed().users[0];
  await popup.fill('input[name="username"]', alice.username);
  await popup.fill('input[name="password"]', alice.password);
}

test('Deny at the sign-in page shows "declined" at once, and after a reload', async ({
  page
}) => {
  const panel = await openPanel(page);
  const ws = card(panel, 'ws');
  const popup = await startLogin(page, panel, 'ws');
  await fillCredentials(popup);
  await popup.click('button[value="deny"]');
  await expect(popup.locator('body')).toContainText('declined');
  // No reload, no waiting for a timeout: the callback told the server, the server the panel.
  await expect(statusOf(panel, 'ws')).toHaveText('Sign-in declined: not signed in');
  expect(await actions(ws)).toEqual(['Log in']);
  await popup.close();
  await page.reload();
  const again = await openPanel(page);
  await expect(statusOf(again, 'ws')).toHaveText('Sign-in declined: not signed in');
  expect(await actions(card(again, 'ws'))).toEqual(['Log in']);
});

test('a pending sign-in offers only Cancel; closing its window cancels it', async ({ page }) => {
  const panel = await openPanel(page);
  const ws = card(panel, 'ws');
  const popup = await startLogin(page, panel, 'ws');
  expect(await actions(ws)).toEqual(['Cancel sign-in']);
  await screenshot(panel, 'pending');
  await popup.close();
  await expect(statusOf(panel, 'ws')).toHaveText('Sign-in cancelled: not signed in');
  expect(await actions(ws)).toEqual(['Log in']);
  // The same after a reload: the server was told, not just this page.
  await page.reload();
  const again = await openPanel(page);
  await expect(statusOf(again, 'ws')).toHaveText('Sign-in cancelled: not signed in');
});

test('Cancel sign-in in the panel closes the window', async ({ page }) => {
  const panel = await openPanel(page);
  const popup = await startLogin(page, panel, 'ws');
  const closed = popup.waitForEvent('close');
  await card(panel, 'ws').getByRole('button', { name: 'Cancel sign-in' }).click();
  await closed;
  await expect(statusOf(panel, 'ws')).toHaveText('Sign-in cancelled: not signed in');
});

test('after a logout: "not signed in"; a notebook waiting: "waiting for you to sign in"', async ({
  page
}) => {
  const panel = await openPanel(page);
  const ws = card(panel, 'ws');
  const popup = await startLogin(page, panel, 'ws');
  await fillCredentials(popup);
  const closed = popup.waitForEvent('close', { timeout: 30_000 });
  await popup.click('button[value="allow"]');
  await closed;
  await expect(statusOf(panel, 'ws')).toHaveText(/^Signed in as /);
  // Several connections, the worst one (broken) named: no countdown of ws's token beside it.
  await expect(page.locator('.jp-DbxAuth-statusItem')).toHaveText('error (broken)');

  await ws.getByRole('button', { name: 'Log out' }).click();
  await expect(statusOf(panel, 'ws')).toHaveText('Not signed in');
  expect(await actions(ws)).toEqual(['Log in']);

  // A notebook connects to the signed-out connection: it waits, and the panel says so.
  await page.notebook.createNew('waiting.ipynb');
  await page.notebook.setCell(0, 'code', '%load_ext jupyter_dbx_auth\n%dbx_connect ws');
  // Run without waiting: the cell finishes only once the sign-in is done.
  await page.notebook.enterCellEditingMode(0);
  await page.keyboard.press('Control+Enter');
  const output = page.locator('.jp-Cell').first().locator('.jp-OutputArea-output');
  await expect(output.getByRole('link', { name: 'Open the Databricks sign-in' })).toBeVisible({
    timeout: 60_000
  });
  const panel2 = await openPanel(page);
  await expect(statusOf(panel2, 'ws')).toHaveText('A notebook is waiting for you to sign in');
  await screenshot(panel2, 'notebook-waiting');

  // Log in from the panel: the waiting cell completes.
  const popupPromise = page.waitForEvent('popup');
  await card(panel2, 'ws').getByRole('button', { name: 'Log in' }).click();
  const second = await popupPromise;
  await second.waitForURL(/\/authorize\?/);
  await fillCredentials(second);
  await second.click('button[value="allow"]');
  await expect(output.last()).toContainText('w = WorkspaceClient for ws', { timeout: 60_000 });
  await expect(output.last()).toContainText(/token valid \d+ min \(until \d\d:\d\d\)/);
  await page.notebook.save();
});

test('a service principal card says where its secret comes from', async ({ page }) => {
  const panel = await openPanel(page);
  // Secret in the server configuration: ready, nothing to add.
  const admin = card(panel, 'admin-sp');
  await expect(statusOf(panel, 'admin-sp')).toHaveText(/^Service principal ready/);
  await expect(admin.locator('.jp-DbxAuth-credentials')).toContainText(
    'Secret from jupyter_server_config.py'
  );
  await expect(admin.locator('.jp-DbxAuth-sps')).toHaveCount(0);
  await expect(admin.getByRole('button', { name: /Add/ })).toHaveCount(0);
  // No secret: exactly its own can be added.
  const etl = card(panel, 'etl');
  await expect(etl.locator('.jp-DbxAuth-credentials')).toContainText('No secret yet');
  await expect(etl.locator('.jp-DbxAuth-sps summary')).toHaveText(
    'Secret of this service principal'
  );
  await expect(etl.getByRole('button', { name: 'Add the secret…' })).toBeVisible();
  // A user connection can keep service principals beside the sign-in.
  await expect(card(panel, 'ws').locator('.jp-DbxAuth-addSp')).toHaveText(
    'Add a service principal…'
  );
  await screenshot(panel, 'service-principal-sources');
});

test('the picker: an SP connection defaults to its principal; the status follows', async ({
  page
}) => {
  const adminId = emulatorSeed().service_principals.find(
    s => s.display_name === 'emulator-admin-sp'
  )!.client_id;
  await page.notebook.createNew('picker.ipynb');
  await page.notebook.setCell(0, 'code', 'import jupyter_dbx_auth\njupyter_dbx_auth.picker("admin-sp")');
  await page.notebook.runCell(0);
  const widget = page
    .locator('.jp-Cell')
    .first()
    .locator('.jp-OutputArea-output .widget-vbox')
    .first();
  await expect(widget).toBeVisible({ timeout: 60_000 });
  await expect(widget.locator('.widget-toggle-button.mod-active')).toHaveText('Service principal');
  const principal = widget.getByLabel('Principal', { exact: true });
  const shown = await principal.evaluate(
    (s: HTMLSelectElement) => s.options[s.selectedIndex]?.text ?? ''
  );
  expect(shown).toContain(adminId);
  // The whole id is visible: the select is at least as wide as its text.
  const fits = await principal.evaluate((s: HTMLSelectElement) => s.scrollWidth <= s.clientWidth);
  expect(fits).toBe(true);
  await expect(widget.locator('.jp-DbxAuth-pickerStatus')).toContainText('admin-sp: ready');
  await widget.getByLabel('Connection', { exact: true }).selectOption('etl');
  await expect(widget.locator('.jp-DbxAuth-pickerStatus')).toContainText(/etl: no secret/);
});
