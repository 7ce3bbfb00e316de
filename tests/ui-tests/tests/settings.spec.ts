/** User settings (schema/plugin.json) change what the extension shows and inserts. */
import { expect, galata, test } from './fixtures';

import { card, openPanel } from './helpers';

test.use({
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    'jupyter-dbx-auth:plugin': {
      showStatusBarItem: false,
      snippetForm: 'python',
      snippetCheckLine: false
    }
  }
});

test('the Python snippet form and a hidden status bar item', async ({ page }) => {
  await page.notebook.createNew('python-form.ipynb');
  const panel = await openPanel(page);
  await expect(page.locator('.jp-DbxAuth-statusItem')).toBeHidden();
  await card(panel, 'ws').getByRole('button', { name: 'Insert %dbx_connect' }).click();
  expect(await page.notebook.getCellTextInput(0)).toBe(
    'import jupyter_dbx_auth\n\nw = jupyter_dbx_auth.connect("ws")'
  );
});
