/**
 * Service principal display logic: the expiry line and its warning level, and checks of the add
 * form before anything is sent. The secret never passes through here.
 */
import { IServicePrincipal } from './types';

const DAY_MS = 86_400_000;

export type ExpiryLevel = 'none' | 'ok' | 'soon' | 'expired';

export interface IExpiry {
  level: ExpiryLevel;
  text: string;
}

/** The date part (UTC) of epoch seconds, e.g. `2027-01-31`. */
export function isoDate(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 10);
}

/**
 * The expiry line of a stored secret. `warnDays` matches the server's
 * `secret_expiry_warning_days`; for an expired secret the server's own `warning` text wins.
 */
export function expiryOf(sp: IServicePrincipal, nowMs: number, warnDays = 30): IExpiry {
  if (sp.expires_at === null || !Number.isFinite(sp.expires_at)) {
    return { level: 'none', text: 'No expiry date recorded' };
  }
  const date = isoDate(sp.expires_at);
  const exact = (sp.expires_at * 1000 - nowMs) / DAY_MS;
  if (exact <= 0) {
    return { level: 'expired', text: sp.warning ?? `Secret expired on ${date}` };
  }
  if (exact <= warnDays) {
    // Rounded as the server rounds its warning ("expires in 9 days").
    const days = Math.round(exact);
    const when = days === 0 ? 'today' : `in ${days} day${days === 1 ? '' : 's'}`;
    return { level: 'soon', text: `Secret expires ${date} (${when}): create a new one soon` };
  }
  return { level: 'ok', text: `Secret expires ${date}` };
}

/** The worst expiry level among some service principals. */
export function worstExpiry(levels: Iterable<ExpiryLevel>): ExpiryLevel {
  const order: ExpiryLevel[] = ['none', 'ok', 'soon', 'expired'];
  let result: ExpiryLevel = 'none';
  for (const level of levels) {
    if (order.indexOf(level) > order.indexOf(result)) {
      result = level;
    }
  }
  return result;
}

/** A problem with the add form, in words, or null when it can be sent. */
export function validateNew(
  clientId: string,
  secretLength: number,
  expires: string
): string | null {
  if (!clientId.trim()) {
    return 'Enter the client id (application id) of the service principal.';
  }
  if (clientId.includes('/')) {
    return 'A client id has no "/": paste the application id, not a URL.';
  }
  if (secretLength === 0) {
    return 'Paste the OAuth secret of the service principal.';
  }
  if (expires && !/^\d{4}-\d{2}-\d{2}$/.test(expires)) {
    return 'Give the expiry as a date, e.g. 2027-01-31.';
  }
  return null;
}
