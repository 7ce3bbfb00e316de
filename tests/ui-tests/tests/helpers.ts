/** Shared helpers of the UI tests: the emulator's seed, the panel and its connection cards. */
import type { IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { Locator, Page } from '@playwright/test';
import { expect, test } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

export interface IEmulatorSeed {
  url: string;
  users: Array<{ username: string; password: string }>;
  service_principals: Array<{
    display_name: string;
    client_id: string;
    secret: string | null;
  }>;
}

/** Written by jupyter_server_test_config.py when the server (and the emulator) started; each
 * project's server has its own emulator, found by the port of the project's baseURL. */
export function emulatorSeed(): IEmulatorSeed {
  const baseURL = test.info().project.use.baseURL ?? `http://localhost:${process.env.DBX_UI_PORT}`;
  const port = new URL(baseURL).port;
  const file = path.join(__dirname, '..', `.emulator-${port}.json`);
  return JSON.parse(fs.readFileSync(file, 'utf-8')) as IEmulatorSeed;
}

export const SCREENSHOTS = process.env.DBX_UI_SCREENSHOTS === '1';
const SCREENSHOT_DIR = path.join(__dirname, '..', '..', '..', 'docs', 'screenshots');

/** Open the Databricks sidebar (by its tab) and wait for the first listing. */
export async function openPanel(page: IJupyterLabPageFixture): Promise<Locator> {
  await page.sidebar.openTab('jp-dbx-auth-panel');
  await page.sidebar.setWidth(360, 'left');
  const panel = page.locator('#jp-dbx-auth-panel');
  await expect(panel.locator('.jp-DbxAuth-connection').first()).toBeVisible();
  return panel;
}

export function card(panel: Locator, name: string): Locator {
  return panel.locator(`.jp-DbxAuth-connection[data-connection="${name}"]`);
}

export function statusOf(panel: Locator, name: string): Locator {
  return card(panel, name).locator('.jp-DbxAuth-status').first();
}

/** Save a PNG of the panel into docs/screenshots/ when DBX_UI_SCREENSHOTS=1. */
export async function screenshot(panel: Locator, name: string): Promise<void> {
  if (!SCREENSHOTS || test.info().project.name !== 'open') {
    return;
  }
  await panel.page().mouse.move(0, 0);
  await panel.screenshot({
    path: path.join(SCREENSHOT_DIR, `${name}.png`),
    animations: 'disabled'
  });
}

/** Everything the browser holds: page text, storages, cookies' values. For leak checks. */
export async function browserText(page: Page): Promise<string> {
  const inPage = await page.evaluate(() => {
    const dump = (s: Storage): string =>
      Object.keys(s)
        .map(k => `${k}=${s.getItem(k)}`)
        .join('\n');
    const inputs = Array.from(document.querySelectorAll('input'))
      .map(i => i.value)
      .join('\n');
    return [document.body.innerText, dump(localStorage), dump(sessionStorage), inputs].join('\n');
  });
  const cookies = (await page.context().cookies()).map(c => c.value).join('\n');
  return `${inPage}\n${cookies}`;
}
