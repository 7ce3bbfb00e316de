/**
 * The public app's only redirect is http://localhost:8020. When this Jupyter cannot listen there
 * (another program holds the port, as a waiting `databricks auth login` does) or the browser is
 * on another machine, the sign-in ends on an address the browser cannot open, and the person
 * pastes it into the panel (issue 10). Here a stand-in program holds 8020, so the panel must offer
 * the paste field, keep the sign-in when its window closes, refuse a wrong address in words and
 * finish with the right one.
 */
import * as http from 'http';

import { expect, test } from './fixtures';
import { card, emulatorSeed, openPanel, statusOf } from './helpers';

test.use({ autoGoto: true });

/** Another program on localhost:8020 (both loopback addresses), answering like a stranger. */
async function holdPort8020(): Promise<http.Server[]> {
  const servers: http.Server[] = [];
  for (const host of ['127.0.0.1', '::1']) {
    const server = http.createServer((_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('Not the Jupyter server.');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(8020, host, () => resolve());
    });
    servers.push(server);
  }
  return servers;
}

test('a sign-in that ends on an address the browser cannot open is finished by pasting it', async ({
  page
}) => {
  test.skip(test.info().project.name !== 'open', 'port 8020 is one per machine: one project runs it');
  const servers = await holdPort8020();
  try {
    const panel = await openPanel(page);
    const pub = card(panel, 'public');
    const popupPromise = page.waitForEvent('popup');
    await pub.getByRole('button', { name: 'Log in' }).click();
    const popup = await popupPromise;
    await popup.waitForURL(/\/authorize\?/);
    const field = pub.getByRole('textbox', { name: 'Address the sign-in ended on' });
    await expect(field).toBeVisible();
    await expect(pub).toContainText('Port 8020 is in use');

    const alice = emulatorSeed().users[0];
    await popup.fill('input[name="username"]', alice.username);
    await popup.fill('input[name="password"]', alice.password);
    await popup.click('button[value="allow"]');
    await popup.waitForURL(/^http:\/\/localhost:8020\/?\?code=/);
    const address = popup.url();
    await popup.close();
    // Closing the window does not give up a sign-in that ends by paste.
    await expect(field).toBeVisible();
    await expect(statusOf(panel, 'public')).toHaveText(/Waiting for the sign-in/);

    // A wrong address first: refused in words, and the text stays to be corrected.
    await field.fill(address.replace(':8020', ':8021'));
    await pub.getByRole('button', { name: 'Finish sign-in' }).click();
    await expect(pub.locator('.jp-DbxAuth-pasteError')).toContainText(
      'does not start with http://localhost:8020'
    );
    await expect(field).toHaveValue(/:8021/);

    await field.fill(address);
    await pub.getByRole('button', { name: 'Finish sign-in' }).click();
    await expect(statusOf(panel, 'public')).toHaveAttribute('data-kind', 'ok');
    await expect(pub).toContainText(alice.username);
    await expect(field).toHaveCount(0);
  } finally {
    for (const server of servers) {
      await new Promise<void>(resolve => server.close(() => resolve()));
    }
  }
});
