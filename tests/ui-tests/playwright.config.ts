/**
 * Playwright configuration for the Galata UI tests: Debian's Chromium (never a downloaded one),
 * headless, one worker, no video (it needs Playwright's own ffmpeg).
 *
 * Two JupyterLab servers (`jlpm start`, jupyter_server_test_config.py, each with its own
 * Databricks emulator), one per project:
 * - `open`: Galata's usual server, token and XSRF off: every spec but `*.auth.spec.ts`;
 * - `auth`: the Jupyter token and XSRF on. The browser signs in once through the token URL and
 *   from then on uses the login cookie and the `_xsrf` cookie + header, the labextension's real
 *   path; the sidebar spec runs again here, and `xsrf.auth.spec.ts` checks XSRF is enforced.
 *
 * And a real local JupyterHub for the `hub` project (`*.hub.spec.ts` only, and only there):
 * hub_server.py starts the emulator, JupyterHub 6.1 with the `dbx-auth` token service and
 * single-user servers in hub mode, on DBX_UI_HUB_PORT; it needs `make hub-proxy` and says so.
 */
import type { PlaywrightTestConfig } from '@playwright/test';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

// The Makefile picks free ports and a token; the server config and the tests read the same.
const port = Number(process.env.DBX_UI_PORT ?? 8898);
const authPort = Number(process.env.DBX_UI_AUTH_PORT ?? 8899);
const token = process.env.DBX_UI_TOKEN ?? 'galata-ui-test-token';
const baseURL = `http://localhost:${port}`;
const authURL = `http://localhost:${authPort}`;
const hubPort = Number(process.env.DBX_UI_HUB_PORT ?? 8897);
// 127.0.0.1, the address the hub binds and builds its OAuth callback URL from.
const hubURL = `http://127.0.0.1:${hubPort}`;

const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
];

const server = (p: number, extra: Record<string, string>) => ({
  command: 'jlpm start',
  url: `http://localhost:${p}/lab`,
  timeout: 120_000,
  reuseExistingServer: false,
  // SIGTERM lets the server stop the emulator and remove its seed file (atexit).
  gracefulShutdown: { signal: 'SIGTERM' as const, timeout: 10_000 },
  env: { ...process.env, DBX_UI_PORT: String(p), ...extra } as Record<string, string>
});

const config: PlaywrightTestConfig = {
  ...baseConfig,
  testDir: './tests',
  workers: 1,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    headless: true,
    video: 'off',
    trace: 'retain-on-failure',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: chromiumArgs
    }
  },
  projects: [
    {
      name: 'open',
      testIgnore: [/\.auth\.spec\.ts$/, /\.hub\.spec\.ts$/],
      use: { baseURL }
    },
    {
      name: 'auth',
      testMatch: [/sidebar\.spec\.ts$/, /\.auth\.spec\.ts$/],
      use: {
        baseURL: authURL,
        dbxToken: token,
        // The lab page reaches the browser through a Playwright route (its token blanked, see
        // tests/fixtures.ts); Chromium counts a fulfilled document as public and would block
        // its kernel WebSockets to localhost (Local Network Access), which a page served by the
        // server itself never meets.
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: [...chromiumArgs, '--disable-features=LocalNetworkAccessChecksWebSockets']
        }
      } as Record<string, unknown>
    },
    {
      name: 'hub',
      testMatch: /\.hub\.spec\.ts$/,
      use: { baseURL: hubURL }
    }
  ],
  webServer: [
    server(port, {}),
    server(authPort, { DBX_UI_AUTH_TOKEN: token }),
    {
      command: 'python hub_server.py',
      // Ready when it says so: the hub, its service and the emulator are up and .hub-<port>.json
      // is written (the hub's own pages answer a little earlier).
      wait: { stdout: /DBX_UI_HUB_READY / },
      timeout: 120_000,
      reuseExistingServer: false,
      // SIGTERM: it stops the hub (which stops the servers it spawned), the service and the
      // emulator, and removes its files.
      gracefulShutdown: { signal: 'SIGTERM' as const, timeout: 40_000 },
      env: { ...process.env, DBX_UI_HUB_PORT: String(hubPort) } as Record<string, string>
    }
  ]
};

export default config;
