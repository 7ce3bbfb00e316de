import { IConnection } from '../src/model/types';

/** A connection as the server lists it; override what a test is about. */
export function conn(overrides: Partial<IConnection> = {}): IConnection {
  return {
    name: 'ws',
    host: 'https://adb-1.cloud.databricks.com',
    method: 'u2m',
    account_id: null,
    account: false,
    client_id: null,
    scopes: ['all-apis', 'offline_access'],
    source: 'config',
    status: 'logged_out',
    message: null,
    hint: null,
    warnings: [],
    identity: null,
    expires_at: null,
    reason: null,
    credentials: null,
    sign_in: null,
    ...overrides
  };
}

/** 2026-01-01T00:00:00Z in milliseconds. */
export const NOW_MS = Date.UTC(2026, 0, 1);
export const NOW_S = NOW_MS / 1000;
