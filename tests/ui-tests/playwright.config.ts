/**
 * Playwright configuration for the Galata UI tests: Debian's Chromium (never a downloaded one),
 * headless, one worker, no video (it needs Playwright's own ffmpeg), JupyterLab started by
 * `jlpm start` with jupyter_server_test_config.py (which also starts the Databricks emulator).
 */
import type { PlaywrightTestConfig } from '@playwright/test';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

// The Makefile picks a free port; jupyter_server_test_config.py and the tests read the same.
const port = Number(process.env.DBX_UI_PORT ?? 8898);
const baseURL = `http://localhost:${port}`;

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
    baseURL,
    headless: true,
    video: 'off',
    trace: 'retain-on-failure',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    }
  },
  webServer: {
    command: 'jlpm start',
    url: `${baseURL}/lab`,
    timeout: 120_000,
    reuseExistingServer: false,
    // SIGTERM lets the server stop the emulator and remove its seed file (atexit).
    gracefulShutdown: { signal: 'SIGTERM', timeout: 10_000 },
    env: { ...process.env, DBX_UI_PORT: String(port) } as Record<string, string>
  }
};

export default config;
