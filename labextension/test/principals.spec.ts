import { expiryOf, isoDate, validateNew, worstExpiry } from '../src/model/principals';
import { IServicePrincipal } from '../src/model/types';
import { NOW_MS, NOW_S } from './fixtures';

const DAY = 86400;
const sp = (expires_at: number | null, warning: string | null = null): IServicePrincipal => ({
  connection: 'etl',
  client_id: 'abc',
  label: 'nightly',
  expires_at,
  warning,
  has_secret: true
});

describe('service principal expiry', () => {
  it('formats dates in UTC', () => {
    expect(isoDate(NOW_S)).toBe('2026-01-01');
  });

  it('has no level without a date', () => {
    expect(expiryOf(sp(null), NOW_MS).level).toBe('none');
  });

  it('is fine far from the date', () => {
    expect(expiryOf(sp(NOW_S + 90 * DAY), NOW_MS)).toEqual({
      level: 'ok',
      text: 'Secret expires 2026-04-01'
    });
  });

  it('warns within the warning window, with the server warning', () => {
    expect(expiryOf(sp(NOW_S + 7 * DAY), NOW_MS).text).toBe(
      'Secret expires 2026-01-08 (in 7 days): create a new one soon'
    );
    const e = expiryOf(sp(NOW_S + DAY, 'The secret expires in 1 days.'), NOW_MS);
    expect(e.level).toBe('soon');
    expect(e.text).toContain('(in 1 day)');
    // Rounded like the server's warning: 9.3 days is "in 9 days".
    expect(expiryOf(sp(NOW_S + 9.3 * DAY), NOW_MS).text).toContain('(in 9 days)');
    expect(expiryOf(sp(NOW_S + 0.2 * DAY), NOW_MS).text).toContain('(today)');
    expect(expiryOf(sp(NOW_S + 40 * DAY), NOW_MS, 60).level).toBe('soon');
  });

  it('says expired after the date', () => {
    expect(expiryOf(sp(NOW_S - DAY), NOW_MS)).toEqual({
      level: 'expired',
      text: 'Secret expired on 2025-12-31'
    });
  });

  it('picks the worst level', () => {
    expect(worstExpiry([])).toBe('none');
    expect(worstExpiry(['ok', 'soon', 'none'])).toBe('soon');
    expect(worstExpiry(['soon', 'expired'])).toBe('expired');
  });
});

describe('add form validation', () => {
  it('needs a client id, a secret and a proper date', () => {
    expect(validateNew('', 5, '')).toMatch(/client id/);
    expect(validateNew('https://x/y', 5, '')).toMatch(/no "\/"/);
    expect(validateNew('abc', 0, '')).toMatch(/secret/);
    expect(validateNew('abc', 5, '31/01/2027')).toMatch(/date/);
    expect(validateNew('abc', 5, '2027-01-31')).toBeNull();
    expect(validateNew('abc', 5, '')).toBeNull();
  });
});
