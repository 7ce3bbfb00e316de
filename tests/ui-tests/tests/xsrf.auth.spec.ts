/**
 * Runs in the `auth` project only (the Jupyter token and XSRF on): the browser holds a login
 * cookie, no token, and the server refuses a write without the XSRF header. The sidebar spec,
 * run in the same project, shows the labextension's sign-in and service principal paths work
 * under exactly these rules.
 */
import { expect, test } from './fixtures';

test.use({ autoGoto: true });

test('the page has no token, and a write without the XSRF header is refused', async ({
  page
}) => {
  const result = await page.evaluate(async () => {
    const app = (window as any).jupyterapp;
    const settings = app.serviceManager.serverSettings;
    const url = `${settings.baseUrl}dbx-auth/api/connections/ws/cancel`;
    const xsrf = document.cookie
      .split('; ')
      .find(c => c.startsWith('_xsrf='))
      ?.slice('_xsrf='.length);
    const without = await fetch(url, { method: 'POST', body: '{}', credentials: 'same-origin' });
    const withHeader = await fetch(url, {
      method: 'POST',
      body: '{}',
      credentials: 'same-origin',
      headers: { 'X-XSRFToken': decodeURIComponent(xsrf ?? '') }
    });
    return {
      token: settings.token,
      url: window.location.href,
      without: without.status,
      withHeader: withHeader.status
    };
  });
  expect(result.token).toBe('');
  expect(result.url).not.toContain('token=');
  expect(result.without).toBe(403);
  expect(result.withHeader).toBe(200);
});
