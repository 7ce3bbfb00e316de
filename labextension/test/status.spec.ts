import {
  describe as describeConn,
  describeProblem,
  clockTime,
  formatDuration,
  formatValidity,
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

describe('time format', () => {
  it('says whole minutes and hours, never seconds', () => {
    expect(formatDuration(0)).toBe('< 1 min');
    expect(formatDuration(59)).toBe('< 1 min');
    expect(formatDuration(3541)).toBe('59 min');
    expect(formatDuration(3600)).toBe('1 h 0 min');
    expect(formatDuration(7322)).toBe('2 h 2 min');
    expect(formatDuration(Number.NaN)).toBe('< 1 min');
  });

  it('is "valid 59 min (until HH:MM)", or "expired at HH:MM"', () => {
    const until = clockTime(NOW_S + 3541);
    expect(until).toMatch(/^\d\d:\d\d$/);
    expect(formatValidity(NOW_S + 3541, NOW_MS)).toBe(`valid 59 min (until ${until})`);
    expect(formatValidity(NOW_S - 60, NOW_MS)).toBe(`expired at ${clockTime(NOW_S - 60)}`);
    expect(formatValidity(null, NOW_MS)).toBe('');
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
    expect(line.text).toBe(
      `Signed in as alice@example.com · token valid 2 min (until ${clockTime(NOW_S + 125)})`
    );
  });

  it('says an expired cached token is renewed on next use', () => {
    const line = describeConn(conn({ status: 'ok', expires_at: NOW_S - 1 }), NOW_MS);
    expect(line.text).toBe('Signed in · token renewed on next use');
  });

  it('says "not signed in" unless something expired', () => {
    expect(describeConn(conn(), NOW_MS).text).toBe('Not signed in');
    expect(describeConn(conn({ reason: 'not_signed_in' }), NOW_MS).text).toBe('Not signed in');
    const expired = describeConn(conn({ status: 'login_required', reason: 'expired' }), NOW_MS);
    expect(expired.kind).toBe('login_required');
    expect(expired.text).toBe('Sign-in expired: log in again');
  });

  it('says declined, cancelled, and who waits for a pending sign-in', () => {
    expect(describeConn(conn({ reason: 'declined' }), NOW_MS).text).toBe(
      'Sign-in declined: not signed in'
    );
    expect(describeConn(conn({ reason: 'cancelled' }), NOW_MS).text).toBe(
      'Sign-in cancelled: not signed in'
    );
    // A sign-in nobody finished within login_ttl: the server says so in the message.
    expect(
      describeConn(
        conn({ reason: 'cancelled', message: 'The sign-in was not finished within 10 minutes.' }),
        NOW_MS
      ).text
    ).toBe('The sign-in was not finished within 10 minutes. Not signed in');
    expect(describeConn(conn({ status: 'login_pending' }), NOW_MS).text).toMatch(
      /other window/
    );
    expect(
      describeConn(conn({ status: 'login_pending', reason: 'kernel_waiting' }), NOW_MS).text
    ).toBe('A notebook is waiting for you to sign in');
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

  it('names the worst connection, with no countdown of another connection', () => {
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
    expect(summary.countdown).toBeNull();
    expect(summary.text).toBe('Databricks: sign-in expired (c)');
  });

  it('gives the countdown of the connection it names', () => {
    const summary = summarize(
      [
        conn({ name: 'a', status: 'ok', expires_at: NOW_S + 600 }),
        conn({ name: 'b', status: 'ok', expires_at: NOW_S + 90, warnings: ['soon'] })
      ],
      [],
      NOW_MS
    );
    expect(summary.name).toBe('b');
    expect(summary.countdown).toBe(90);
    expect(summary.text).toBe(
      `Databricks: signed in, with warnings (b) · valid 1 min (until ${clockTime(NOW_S + 90)})`
    );
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
    expect(summary.text).toBe(`Databricks: signed in · valid < 1 min (until ${clockTime(NOW_S + 59)})`);
  });
});
