import { errorFromReply, networkError } from '../src/model/errors';
import { DEFAULT_SETTINGS, readSettings } from '../src/settings';

describe('server errors in words', () => {
  it('uses the server message and hint', () => {
    const body = JSON.stringify({ message: 'Unknown connection.', hint: 'Add it.' });
    expect(errorFromReply(404, body)).toEqual({
      status: 404,
      message: 'Unknown connection.',
      hint: 'Add it.'
    });
  });

  it('explains a 404 without a JSON body (extension missing)', () => {
    expect(errorFromReply(404, '<html>').message).toMatch(/did not answer/);
  });

  it('explains a 403 and anything else', () => {
    expect(errorFromReply(403, '').hint).toMatch(/Reload/);
    expect(errorFromReply(502, 'Bad gateway').message).toBe(
      'The Jupyter server replied with HTTP 502.'
    );
    expect(errorFromReply(500, '{"message": 5}').message).toMatch(/HTTP 500/);
  });

  it('explains a network failure', () => {
    const e = networkError('Failed to fetch');
    expect(e.status).toBe(0);
    expect(e.message).toBe('Could not reach the Jupyter server (Failed to fetch).');
  });
});

describe('settings', () => {
  it('falls back to the defaults', () => {
    expect(readSettings(null)).toEqual(DEFAULT_SETTINGS);
    expect(readSettings({ refreshInterval: 1, snippetForm: 'bash', showStatusBarItem: 'no' })).toEqual(
      DEFAULT_SETTINGS
    );
  });

  it('reads valid values', () => {
    expect(
      readSettings({ refreshInterval: 120, snippetForm: 'python', showStatusBarItem: false })
    ).toEqual({
      ...DEFAULT_SETTINGS,
      refreshInterval: 120,
      snippetForm: 'python',
      showStatusBarItem: false
    });
  });
});
