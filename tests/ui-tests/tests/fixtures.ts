/**
 * Galata's `test` with one option more, `dbxToken` (set by the `auth` project): when set, the
 * browser context signs in to Jupyter once through the token URL, as a user opening the link
 * `jupyter lab` prints, and from then on holds only the login cookie and the `_xsrf` cookie.
 *
 * JupyterLab also writes the token into its page config, and `ServerConnection` then sends it
 * as an `Authorization` header, which makes the server skip the XSRF check. Under JupyterHub the
 * page carries no token (jupyterlab/labapp.py blanks it), and every request the labextension
 * makes must pass on the cookie and the XSRF header alone: that is the path tested here, so the
 * token is blanked from the page config the browser receives. Galata's own housekeeping
 * requests (test folders, kernels) carry the token in a header.
 */
import { expect, galata, test as base } from '@jupyterlab/galata';

export { expect, galata };

export const test = base.extend<{ dbxToken: string }>({
  dbxToken: ['', { option: true }],
  context: async ({ context, baseURL, dbxToken }, use) => {
    if (dbxToken) {
      const page = await context.newPage();
      const reply = await page.goto(`${baseURL}/lab?token=${dbxToken}`);
      expect(reply?.ok()).toBe(true);
      await page.close();
      await context.route(/\/lab(\/[^?]*)?(\?.*)?$/, async route => {
        if (route.request().resourceType() !== 'document') {
          return route.fallback();
        }
        const response = await route.fetch();
        const type = response.headers()['content-type'] ?? '';
        if (!type.includes('text/html')) {
          return route.fulfill({ response });
        }
        const body = (await response.text()).replace(/"token":\s*"[^"]*"/, '"token": ""');
        await route.fulfill({ response, body });
      });
      // Signed in by cookie now; the token itself stays out of the page from here on.
      const names = (await context.cookies()).map(c => c.name);
      expect(names.some(n => n.startsWith('username-'))).toBe(true);
      expect(names).toContain('_xsrf');
    }
    await use(context);
  },
  request: async ({ playwright, baseURL, dbxToken }, use) => {
    const request = await playwright.request.newContext({
      baseURL,
      extraHTTPHeaders: dbxToken ? { Authorization: `token ${dbxToken}` } : {}
    });
    await use(request);
    await request.dispose();
  }
});
