/**
 * Galata's `test` with one option more, `dbxToken` (set by the `auth` project): when set, the
 * browser context signs in to Jupyter once through the token URL, as a user opening the link
 * `jupyter lab` prints, and from then on holds only the login cookie and the `_xsrf` cookie:
 * every request the labextension makes goes through the real cookie + XSRF path. Galata's own
 * housekeeping requests (test folders, kernels) carry the token in a header instead.
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
