/**
 * The Databricks sidebar against the emulator, in order: signed out → log in in a popup (the
 * status changes without a reload) → snippet in a notebook, run → service principals → log out.
 * Serial because each step starts from the server state the previous one left.
 */
import { expect, test } from './fixtures';

import {
  browserText,
  card,
  emulatorSeed,
  openPanel,
  screenshot,
  statusOf
} from './helpers';

test.describe.configure({ mode: 'serial' });

test.use({ autoGoto: true });

test('the panel lists each connection with its status', async ({ page }) => {
  const panel = await openPanel(page);
  await expect(statusOf(panel, 'ws')).toHaveText('Not signed in');
  await expect(statusOf(panel, 'etl')).toHaveText(/No secret stored/);
  const broken = statusOf(panel, 'broken');
  await expect(broken).toHaveAttribute('data-kind', 'error');
  await expect(broken).toContainText('Invalid Databricks host');
  await expect(broken.locator('.jp-DbxAuth-hint')).toContainText('e.g. https://');
  await expect(card(panel, 'ws').getByRole('button', { name: 'Log in' })).toBeVisible();
  await expect(page.locator('.jp-DbxAuth-statusItem')).toContainText('error (broken)');
  await expect(panel.locator('.jp-DbxAuth-footer')).toContainText('Live');
  await screenshot(panel, 'signed-out');
});

test('log in through the emulator in a new window; the panel updates live', async ({
  page
}) => {
  const seed = emulatorSeed();
  const alice = seed.users[0];
  const panel = await openPanel(page);
  const ws = card(panel, 'ws');

  const popupPromise = page.waitForEvent('popup');
  await ws.getByRole('button', { name: 'Log in' }).click();
  const popup = await popupPromise;
  await popup.waitForURL(/\/authorize\?/);
  await expect(statusOf(panel, 'ws')).toHaveText(/Waiting for the sign-in/);
  // A pending sign-in offers one action: cancel it.
  await expect(ws.getByRole('button', { name: 'Cancel sign-in' })).toBeVisible();
  await expect(ws.getByRole('button', { name: /^Log (in|out)$/ })).toHaveCount(0);

  await popup.fill('input[name="username"]', alice.username);
  await popup.fill('input[name="password"]', alice.password);
  const closed = popup.waitForEvent('close', { timeout: 30_000 });
  await popup.click('button[value="allow"]');
  await closed; // the callback page tells the lab window, then closes itself

  await expect(statusOf(panel, 'ws')).toHaveText(
    new RegExp(
      `^Signed in as ${alice.username.replace('.', '\\.')} · token valid \\d+ min \\(until \\d\\d:\\d\\d\\)$`
    )
  );
  await expect(ws.getByRole('button', { name: 'Log out' })).toBeVisible();
  // The status bar names the worst status (the broken connection), with no countdown: the
  // countdown would be ws's token, not broken's.
  await expect(page.locator('.jp-DbxAuth-statusItem')).toHaveText('error (broken)');
  // No token reached the browser: the page, storages and cookies hold none.
  const held = await browserText(page);
  expect(held).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./); // a JWT
  expect(held).not.toMatch(/refresh_token|access_token/);
  await screenshot(panel, 'signed-in');
});

test('insert %dbx_connect into a notebook and run it', async ({ page }) => {
  await page.notebook.createNew('connect.ipynb');
  const panel = await openPanel(page);
  await card(panel, 'ws').getByRole('button', { name: 'Insert %dbx_connect' }).click();

  const source = await page.notebook.getCellTextInput(0);
  expect(source).toContain('%load_ext jupyter_dbx_auth');
  expect(source).toContain('%dbx_connect ws');

  await page.notebook.runCell(0);
  const output = page.locator('.jp-Cell').first().locator('.jp-OutputArea-output');
  await expect(output.last()).toContainText(emulatorSeed().users[0].username, {
    timeout: 60_000
  });
  await page.notebook.save();
});

test('add a service principal (secret cleared, never shown) and delete it', async ({
  page
}) => {
  const seed = emulatorSeed();
  const sp = seed.service_principals.find(s => s.display_name === 'emulator-etl-sp')!;
  const panel = await openPanel(page);
  const etl = card(panel, 'etl');
  const form = etl.locator('form.jp-DbxAuth-spForm');
  // Its own secret is what is missing: the form is for exactly that client id.
  await expect(etl.locator('.jp-DbxAuth-credentials')).toContainText('No secret yet');
  await etl.getByRole('button', { name: 'Add the secret…' }).click();
  await expect(form.locator('input[name="client_id"]')).toHaveValue(sp.client_id);

  // A wrong secret: refused by the emulator, the reason is shown in words.
  await form.locator('input[name="client_secret"]').fill('not-the-secret');
  await form.getByRole('button', { name: 'Save service principal' }).click();
  await expect(form.locator('input[name="client_secret"]')).toHaveValue('');
  const notice = panel.locator('.jp-DbxAuth-notice-error');
  await expect(notice).toContainText('refused');
  await expect(notice.locator('.jp-DbxAuth-hint')).toContainText('secret');
  await screenshot(panel, 'error');

  // The right secret, with an expiry date inside the warning window.
  const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
  await form.locator('input[name="label"]').fill('nightly');
  await form.locator('input[name="client_secret"]').fill(sp.secret!);
  await form.locator('input[name="expires_at"]').fill(soon);
  await form.getByRole('button', { name: 'Save service principal' }).click();
  await expect(form).toHaveCount(0); // saved: the form (and its secret input) is gone

  const row = etl.locator(`.jp-DbxAuth-sp[data-client-id="${sp.client_id}"]`);
  await expect(row).toContainText('nightly');
  await expect(row.locator('.jp-DbxAuth-spExpiry')).toHaveClass(/jp-DbxAuth-expiry-soon/);
  await expect(row.locator('.jp-DbxAuth-spExpiry')).toContainText(`Secret expires ${soon}`);
  await expect(statusOf(panel, 'etl')).toHaveText(/Service principal ready/);
  await expect(etl.locator('.jp-DbxAuth-credentials')).toContainText('stored on this server');
  await expect(etl.getByRole('button', { name: /Add/ })).toHaveCount(0);
  expect(await browserText(page)).not.toContain(sp.secret!);
  await screenshot(panel, 'service-principal');

  await row.getByRole('button', { name: /Delete service principal/ }).click();
  await expect(row).toHaveCount(0);
});

test('log out', async ({ page }) => {
  const panel = await openPanel(page);
  const ws = card(panel, 'ws');
  await expect(statusOf(panel, 'ws')).toHaveText(/Signed in as/);
  await ws.getByRole('button', { name: 'Log out' }).click();
  await expect(statusOf(panel, 'ws')).toHaveText('Not signed in');
  await expect(ws.getByRole('button', { name: 'Log in' })).toBeVisible();
});

test('command palette has the Databricks commands', async ({ page }) => {
  await page.keyboard.press('Control+Shift+C');
  const palette = page.locator('#modal-command-palette');
  await expect(palette).toBeVisible();
  await page.keyboard.type('Databricks');
  for (const label of ['Open Panel', 'Log In…', 'Log Out…', 'Insert %dbx_connect…']) {
    await expect(palette.locator('.lm-CommandPalette-item', { hasText: label })).toHaveCount(1);
  }
  await page.keyboard.press('Escape');
});
