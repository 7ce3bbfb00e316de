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

/** `mm:ss` under an hour, `h:mm:ss` from an hour on; negative or NaN shows `00:00`. */
export function formatCountdown(seconds: number): string {
  const total = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
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
    ? ` · token valid for ${formatCountdown(left)}`
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
  if (conn.method === 'u2m') {
    return 'Login required';
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
      return { ...base, text: 'Waiting for the sign-in in the other window…' };
    case 'logged_out':
      return { ...base, text: loggedOutText(conn) };
    case 'login_required':
      return { ...base, text: 'Login required: the sign-in has expired' };
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
  /** The shortest token countdown among connections that are signed in. */
  countdown: number | null;
  text: string;
}

const SHORT: Record<StatusKind, string> = {
  ok: 'signed in',
  warning: 'signed in, with warnings',
  refreshing: 'refreshing',
  pending: 'waiting for sign-in',
  logged_out: 'login required',
  login_required: 'login required',
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
  let countdown: number | null = null;
  for (const conn of connections) {
    const k = kindOf(conn);
    const left = k === 'ok' || k === 'warning' ? secondsLeft(conn.expires_at, nowMs) : null;
    if (left !== null && left > 0 && (countdown === null || left < countdown)) {
      countdown = left;
    }
  }
  let text = `Databricks: ${SHORT[kind]}`;
  if (entries.length > 1 || kind !== 'ok') {
    text += ` (${name})`;
  }
  if (countdown !== null) {
    text += ` · ${formatCountdown(countdown)}`;
  }
  return { kind, name, countdown, text };
}
