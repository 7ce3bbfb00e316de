import {
  describe as describeConn,
  describeProblem,
  formatCountdown,
  kindOf,
  secondsLeft,
  severity,
  StatusKind,
  summarize,
  worst
} from '../src/model/status';
import { conn, NOW_MS, NOW_S } from './fixtures';

describe('status ordering', () => {
  it('orders kinds from ok to error', () => {
    const kinds: StatusKind[] = [
      'ok',
      'warning',
      'refreshing',
      'pending',
      'logged_out',
      'login_required',
      'error'
    ];
    const sorted = [...kinds].reverse().sort((a, b) => severity(a) - severity(b));
    expect(sorted).toEqual(kinds);
  });

  it('picks the worst kind, or null for none', () => {
    expect(worst([])).toBeNull();
    expect(worst(['ok', 'login_required', 'warning'])).toBe('login_required');
    expect(worst(['ok', 'error', 'login_required'])).toBe('error');
  });

  it('maps server states to kinds; warnings turn ok into warning', () => {
    expect(kindOf(conn({ status: 'ok' }))).toBe('ok');
    expect(kindOf(conn({ status: 'ok', warnings: ['expires soon'] }))).toBe('warning');
    expect(kindOf(conn({ status: 'login_pending' }))).toBe('pending');
    expect(kindOf(conn({ status: 'login_required' }))).toBe('login_required');
    expect(kindOf(conn({ status: 'something-new' }))).toBe('error');
  });
});

describe('countdown', () => {
  it('formats mm:ss under an hour and h:mm:ss above', () => {
    expect(formatCountdown(0)).toBe('00:00');
    expect(formatCountdown(59)).toBe('00:59');
    expect(formatCountdown(61.9)).toBe('01:01');
    expect(formatCountdown(3599)).toBe('59:59');
    expect(formatCountdown(3600)).toBe('1:00:00');
    expect(formatCountdown(7322)).toBe('2:02:02');
  });

  it('never shows a negative or NaN countdown', () => {
    expect(formatCountdown(-5)).toBe('00:00');
    expect(formatCountdown(Number.NaN)).toBe('00:00');
  });

  it('counts whole seconds left, clamped at zero', () => {
    expect(secondsLeft(null, NOW_MS)).toBeNull();
    expect(secondsLeft(NOW_S + 90.7, NOW_MS)).toBe(90);
    expect(secondsLeft(NOW_S - 10, NOW_MS)).toBe(0);
  });
});

describe('status line', () => {
  it('shows who is signed in and the token countdown', () => {
    const line = describeConn(
      conn({ status: 'ok', identity: 'alice@example.com', expires_at: NOW_S + 125 }),
      NOW_MS
    );
    expect(line.kind).toBe('ok');
    expect(line.text).toBe('Signed in as alice@example.com · token valid for 02:05');
  });

  it('says an expired cached token is renewed on next use', () => {
    const line = describeConn(conn({ status: 'ok', expires_at: NOW_S - 1 }), NOW_MS);
    expect(line.text).toBe('Signed in · token renewed on next use');
  });

  it('says login required for a signed-out user connection', () => {
    expect(describeConn(conn(), NOW_MS).text).toBe('Login required');
    expect(describeConn(conn({ status: 'login_required' }), NOW_MS).kind).toBe(
      'login_required'
    );
  });

  it('asks for a secret for a signed-out service principal connection', () => {
    expect(describeConn(conn({ method: 'm2m' }), NOW_MS).text).toMatch(/No secret stored/);
  });

  it('shows an error with its message and hint', () => {
    const line = describeConn(
      conn({ status: 'error', message: 'Databricks is unreachable.', hint: 'Check the host.' }),
      NOW_MS
    );
    expect(line).toEqual({
      kind: 'error',
      text: 'Error: Databricks is unreachable.',
      message: 'Databricks is unreachable.',
      hint: 'Check the host.'
    });
  });

  it('shows a configuration problem as an error', () => {
    const line = describeProblem({ name: 'bad', message: 'Invalid host.', hint: 'Fix it.' });
    expect(line.kind).toBe('error');
    expect(line.text).toBe('Error: Invalid host.');
    expect(line.hint).toBe('Fix it.');
  });
});

describe('summary for the status bar', () => {
  it('has no kind without connections', () => {
    expect(summarize([], [], NOW_MS)).toEqual({
      kind: null,
      name: null,
      countdown: null,
      text: 'Databricks: no connections'
    });
  });

  it('names the worst connection and the shortest countdown', () => {
    const summary = summarize(
      [
        conn({ name: 'a', status: 'ok', expires_at: NOW_S + 600 }),
        conn({ name: 'b', status: 'ok', expires_at: NOW_S + 90 }),
        conn({ name: 'c', status: 'login_required' })
      ],
      [],
      NOW_MS
    );
    expect(summary.kind).toBe('login_required');
    expect(summary.name).toBe('c');
    expect(summary.countdown).toBe(90);
    expect(summary.text).toBe('Databricks: login required (c) · 01:30');
  });

  it('counts configuration problems as errors', () => {
    const summary = summarize(
      [conn({ status: 'ok' })],
      [{ name: 'broken', message: 'x', hint: '' }],
      NOW_MS
    );
    expect(summary.kind).toBe('error');
    expect(summary.name).toBe('broken');
  });

  it('keeps a single healthy connection short', () => {
    const summary = summarize([conn({ status: 'ok', expires_at: NOW_S + 59 })], [], NOW_MS);
    expect(summary.text).toBe('Databricks: signed in · 00:59');
  });
});
