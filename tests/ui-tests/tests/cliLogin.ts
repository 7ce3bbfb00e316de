/**
 * "Use my Databricks CLI sign-in" (issue 13), run by `cli-login.spec.ts` (the `open` project) and
 * `cli-login.auth.spec.ts` (the `auth` project: Jupyter token and XSRF on, the POST goes through
 * the cookie + XSRF header path). Each project's server has a HOME of its own holding a Databricks
 * CLI token cache (jupyter_server_test_config.py made it as `databricks auth login` does): a live
 * sign-in for `cli`'s host, one the emulator has revoked for `cli-stale`'s, none for `ws`'s.
 * Serial: the later steps start from the sign-in the first one made.
 */
import type { Locator } from '@playwright/test';

import { expect, test } from './fixtures';
import { browserText, card, emulatorSeed, openPanel, screenshot, statusOf } from './helpers';

const BUTTON = 'Use my Databricks CLI sign-in';
const CONFIRM = "Use the CLI's sign-in";

function cliButton(conn: Locator): Locator {
  return conn.getByRole('button', { name: BUTTON });
}

function confirmStep(conn: Locator): Locator {
  return conn.getByRole('group', { name: BUTTON });
}

export function cliLoginTests(): void {
  test.describe.configure({ mode: 'serial' });
  test.use({ autoGoto: true });

  test('offered only where the CLI holds a sign-in for the host, only on user cards', async ({
    page
  }) => {
    const panel = await openPanel(page);
    await expect(cliButton(card(panel, 'cli'))).toBeVisible();
    await expect(cliButton(card(panel, 'cli-stale'))).toBeVisible();
    await expect(statusOf(panel, 'cli')).toHaveText('Not signed in');
    // No CLI sign-in for ws's host; a service principal never takes one; the same for `public`.
    for (const name of ['ws', 'public', 'etl', 'admin-sp']) {
      await expect(card(panel, name)).toBeVisible();
      await expect(cliButton(card(panel, name))).toHaveCount(0);
    }
  });

  test('the note first, then the confirm; the card shows who it signed in as', async ({ page }) => {
    const alice = emulatorSeed().users[0].username;
    const panel = await openPanel(page);
    const cli = card(panel, 'cli');

    await cliButton(cli).click();
    const step = confirmStep(cli);
    await expect(step).toBeVisible();
    await expect(step.locator('.jp-DbxAuth-cliQuestion')).toHaveText(
      'Sign cli in with your Databricks CLI sign-in (from ~/.databricks/token-cache.json)?'
    );
    // Said plainly before anything happens: the CLI will need a new `databricks auth login`.
    const note = step.locator('.jp-DbxAuth-cliNote');
    await expect(note).toContainText('single-use refresh tokens');
    await expect(note).toContainText('databricks auth login again before using the CLI');
    await expect(statusOf(panel, 'cli')).toHaveText('Not signed in'); // nothing done yet
    await screenshot(panel, 'cli-sign-in');

    await step.getByRole('button', { name: CONFIRM }).click();
    await expect(statusOf(panel, 'cli')).toHaveText(
      new RegExp(`^Signed in as ${alice.replace('.', '\\.')} · token valid \\d+ min`)
    );
    await expect(step).toHaveCount(0);
    const notice = panel.locator('.jp-DbxAuth-notice-info');
    await expect(notice).toContainText('Signed in to cli with your Databricks CLI sign-in.');
    await expect(notice.locator('.jp-DbxAuth-hint')).toContainText('databricks auth login');
    await expect(cli.getByRole('button', { name: 'Log out' })).toBeVisible();
    // No token reached the browser.
    const held = await browserText(page);
    expect(held).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
    expect(held).not.toMatch(/refresh_token|access_token/);

    // The server's state, not the page's: still signed in after a reload.
    await page.reload();
    const again = await openPanel(page);
    await expect(statusOf(again, 'cli')).toHaveText(new RegExp(`^Signed in as ${alice}`));
  });

  test('on a signed-in card it asks before replacing that sign-in', async ({ page }) => {
    const alice = emulatorSeed().users[0].username;
    const panel = await openPanel(page);
    const cli = card(panel, 'cli');
    await expect(statusOf(panel, 'cli')).toHaveText(/^Signed in as /);
    await cliButton(cli).click();
    const step = confirmStep(cli);
    await expect(step.locator('.jp-DbxAuth-cliQuestion')).toContainText(
      `It replaces your current sign-in as ${alice}, which is kept should Databricks refuse`
    );
    await step.getByRole('button', { name: 'Cancel' }).click();
    await expect(step).toHaveCount(0);
    await expect(cliButton(cli)).toBeVisible();
    await expect(statusOf(panel, 'cli')).toHaveText(/^Signed in as /);
  });

  test('a CLI sign-in the workspace refuses: the error in words, not signed in', async ({
    page
  }) => {
    const panel = await openPanel(page);
    const stale = card(panel, 'cli-stale');
    await cliButton(stale).click();
    await confirmStep(stale).getByRole('button', { name: CONFIRM }).click();

    const error = stale.locator('.jp-DbxAuth-cliError');
    await expect(error).toHaveAttribute('role', 'alert');
    await expect(error).toContainText('Could not use your Databricks CLI sign-in for cli-stale.');
    await expect(error.locator('.jp-DbxAuth-cliErrorMessage')).toContainText('refused');
    await expect(error.locator('.jp-DbxAuth-cliErrorHint')).toContainText(
      "Databricks refused the CLI's sign-in"
    );
    await expect(error.locator('.jp-DbxAuth-cliErrorHint')).toContainText(
      'databricks auth login --host http://127.0.0.1:'
    );
    await expect(statusOf(panel, 'cli-stale')).not.toHaveText(/Signed in/);
    await expect(statusOf(panel, 'cli-stale')).toHaveAttribute(
      'data-kind',
      /^(login_required|logged_out)$/
    );
    await expect(stale.getByRole('button', { name: 'Log in' })).toBeVisible();
    await expect(panel.locator('.jp-DbxAuth-notice-info')).toHaveCount(0);
    await screenshot(panel, 'cli-sign-in-refused');

    await error.getByRole('button', { name: 'Dismiss' }).click();
    await expect(error).toHaveCount(0);
  });
}
