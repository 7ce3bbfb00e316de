/**
 * What a connection's status means to a person: a kind (for colour and ordering), one line of
 * text, and the countdown of the server's cached access token. Pure functions: no DOM, no clock.
 */
import { IConnection, IProblem } from './types';

/** Display kinds, from best to worst. */
export type StatusKind =
  | 'ok'
  | 'warning'
  | 'refreshing'
  | 'pending'
  | 'logged_out'
  | 'login_required'
  | 'error';

const ORDER: readonly StatusKind[] = [
  'ok',
  'warning',
  'refreshing',
  'pending',
  'logged_out',
  'login_required',
  'error'
];

/** 0 for `ok` up to 6 for `error`. */
export function severity(kind: StatusKind): number {
  return ORDER.indexOf(kind);
}

/** The worst of some kinds, or null when there are none. */
export function worst(kinds: Iterable<StatusKind>): StatusKind | null {
  let result: StatusKind | null = null;
  for (const kind of kinds) {
    if (result === null || severity(kind) > severity(result)) {
      result = kind;
    }
  }
  return result;
}

/** The display kind of a connection; an unknown server state counts as an error. */
export function kindOf(conn: IConnection): StatusKind {
  switch (conn.status) {
    case 'ok':
      return conn.warnings.length > 0 ? 'warning' : 'ok';
    case 'refreshing':
      return 'refreshing';
    case 'login_pending':
      return 'pending';
    case 'logged_out':
      return 'logged_out';
    case 'login_required':
      return 'login_required';
    default:
      return 'error';
  }
}

/** Whole seconds until `expiresAt` (epoch seconds), or null when unknown. Never negative. */
export function secondsLeft(expiresAt: number | null, nowMs: number): number | null {
  if (expiresAt === null || !Number.isFinite(expiresAt)) {
    return null;
  }
  return Math.max(0, Math.floor(expiresAt - nowMs / 1000));
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** `59 min`, `1 h 5 min`, `< 1 min`: whole minutes, as every front end of the project says it. */
export function formatDuration(seconds: number): string {
  const total = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  if (total < 60) {
    return '< 1 min';
  }
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}

/** `18:47`: the local wall-clock time of `epochSeconds`. */
export function clockTime(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * The one time format of the project (panel, status bar, `%dbx_connect`, `%dbx_status`, picker):
 * `valid 59 min (until 18:47)`, or `expired at 18:47`; empty when unknown.
 */
export function formatValidity(expiresAt: number | null, nowMs: number): string {
  const left = secondsLeft(expiresAt, nowMs);
  if (left === null || expiresAt === null) {
    return '';
  }
  if (left <= 0) {
    return `expired at ${clockTime(expiresAt)}`;
  }
  return `valid ${formatDuration(left)} (until ${clockTime(expiresAt)})`;
}

/** One status line, with the server's message and what to do next when there are any. */
export interface IStatusLine {
  kind: StatusKind;
  text: string;
  message: string | null;
  hint: string | null;
}

function tokenText(conn: IConnection, nowMs: number): string {
  const left = secondsLeft(conn.expires_at, nowMs);
  if (left === null) {
    return '';
  }
  return left > 0
    ? ` · token ${formatValidity(conn.expires_at, nowMs)}`
    : ' · token renewed on next use';
}

function okText(conn: IConnection): string {
  if (conn.method === 'u2m') {
    return conn.identity ? `Signed in as ${conn.identity}` : 'Signed in';
  }
  if (conn.method === 'm2m') {
    return conn.identity
      ? `Service principal ${conn.identity} ready`
      : 'Service principal ready';
  }
  return 'Ready';
}

function loggedOutText(conn: IConnection): string {
  if (conn.reason === 'declined') {
    return 'Sign-in declined: not signed in';
  }
  if (conn.reason === 'cancelled') {
    return conn.message ? `${conn.message} Not signed in` : 'Sign-in cancelled: not signed in';
  }
  if (conn.method === 'u2m') {
    return 'Not signed in';
  }
  if (conn.method === 'm2m') {
    return 'No secret stored: add the service principal';
  }
  return 'Not connected';
}

/** The status line of a connection at `nowMs` (epoch milliseconds). */
export function describe(conn: IConnection, nowMs: number): IStatusLine {
  const kind = kindOf(conn);
  const base = { kind, message: conn.message, hint: conn.hint };
  switch (kind) {
    case 'ok':
    case 'warning':
      return { ...base, text: okText(conn) + tokenText(conn, nowMs) };
    case 'refreshing':
      return { ...base, text: 'Getting a new token…' };
    case 'pending':
      return {
        ...base,
        text:
          conn.reason === 'kernel_waiting'
            ? 'A notebook is waiting for you to sign in'
            : 'Waiting for the sign-in in the other window…'
      };
    case 'logged_out':
      return { ...base, text: loggedOutText(conn) };
    case 'login_required':
      return { ...base, text: 'Sign-in expired: log in again' };
    default:
      return {
        ...base,
        text: `Error: ${conn.message ?? `unknown state ${JSON.stringify(conn.status)}`}`
      };
  }
}

/** A connection the server could not resolve. */
export function describeProblem(problem: IProblem): IStatusLine {
  return {
    kind: 'error',
    text: `Error: ${problem.message}`,
    message: problem.message,
    hint: problem.hint || null
  };
}

/** The status bar's line: the worst status, which connection has it, and a countdown. */
export interface ISummary {
  kind: StatusKind | null;
  /** The connection with the worst status (the first by name on a tie). */
  name: string | null;
  /** Seconds left on the named connection's token (null when it holds none). */
  countdown: number | null;
  text: string;
}

const SHORT: Record<StatusKind, string> = {
  ok: 'signed in',
  warning: 'signed in, with warnings',
  refreshing: 'refreshing',
  pending: 'waiting for sign-in',
  logged_out: 'not signed in',
  login_required: 'sign-in expired',
  error: 'error'
};

export function summarize(
  connections: readonly IConnection[],
  problems: readonly IProblem[],
  nowMs: number
): ISummary {
  const entries: Array<[string, StatusKind]> = [
    ...connections.map((c): [string, StatusKind] => [c.name, kindOf(c)]),
    ...problems.map((p): [string, StatusKind] => [p.name, 'error'])
  ];
  const kind = worst(entries.map(([, k]) => k));
  if (kind === null) {
    return { kind, name: null, countdown: null, text: 'Databricks: no connections' };
  }
  const name = entries
    .filter(([, k]) => k === kind)
    .map(([n]) => n)
    .sort()[0];
  // The countdown is the named connection's own: never another connection's token.
  const named = connections.find(c => c.name === name);
  const namedKind = named ? kindOf(named) : null;
  let countdown: number | null = null;
  if (named && (namedKind === 'ok' || namedKind === 'warning')) {
    const left = secondsLeft(named.expires_at, nowMs);
    countdown = left !== null && left > 0 ? left : null;
  }
  let text = `Databricks: ${SHORT[kind]}`;
  if (entries.length > 1 || kind !== 'ok') {
    text += ` (${name})`;
  }
  if (countdown !== null && named) {
    text += ` · ${formatValidity(named.expires_at, nowMs)}`;
  }
  return { kind, name, countdown, text };
}
