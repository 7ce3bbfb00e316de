/**
 * "Use my Databricks CLI sign-in": a user (U2M) connection whose host the Databricks CLI holds a
 * `databricks auth login` for (its token cache or keyring entry) can take that sign-in instead of
 * a new one. The server copies the CLI's refresh token and refreshes it from then on; where
 * Databricks issues single-use refresh tokens that makes the CLI's own copy useless, so the card
 * says so (the server's `note`) before anything is done, and asks first.
 *
 * Pure functions say what a card offers; `CliSignIns` keeps, per connection, what the server said
 * (asked once when a connection is first listed, and again on Refresh: never on a timer), the
 * step the person is at, and the last error. It never says "signed in" itself: the card's status
 * line does, from the server's status.
 */
import { IErrorText } from './errors';
import { kindOf } from './status';
import { ICliLoginInfo, ICliLoginReply, IConnection } from './types';

/** The button that offers it, and the one that confirms it. */
export const CLI_BUTTON_TEXT = 'Use my Databricks CLI sign-in';
export const CLI_CONFIRM_TEXT = "Use the CLI's sign-in";
export const CLI_BUSY_TEXT = "Using the CLI's sign-in…";

/** What the server API offers for it (implemented by `DbxAuthApi`; faked in tests). */
export interface ICliApi {
  cliLogin(name: string): Promise<ICliLoginInfo>;
  useCliLogin(name: string, overwrite: boolean): Promise<ICliLoginReply>;
}

/**
 * What using the CLI's sign-in replaces: `nothing` (not signed in), `expired` (a sign-in that no
 * longer works) or `current` (a sign-in the connection holds; replacing it needs a confirm that
 * says so, and the request's `overwrite`).
 */
export type CliReplaces = 'nothing' | 'expired' | 'current';

/** `idle`: the button shows. `confirm`: the note and Confirm / Cancel. `busy`: request sent. */
export type CliStep = 'idle' | 'confirm' | 'busy';

export interface ICliOffer {
  step: CliStep;
  replaces: CliReplaces;
  /** Where the CLI keeps it, in words: `token-cache.json (https://…)`. */
  source: string;
  /** The question the confirm step asks. */
  question: string;
  /** What it means for the CLI afterwards (the server's words). */
  note: string;
}

/** The fallback note, should a server send none (the same words as the server's). */
export const DEFAULT_CLI_NOTE =
  'Jupyter now refreshes this sign-in itself. Where Databricks issues single-use refresh ' +
  "tokens, Jupyter's first refresh invalidates the CLI's copy: run `databricks auth login` " +
  'again before using the CLI for this workspace.';

export function replacesOf(conn: IConnection): CliReplaces {
  switch (kindOf(conn)) {
    case 'logged_out':
      return 'nothing';
    case 'login_required':
      return 'expired';
    default:
      // ok, warning, refreshing, and an error (which may be passing) all hold a sign-in.
      return 'current';
  }
}

const STORES: Record<string, string> = {
  'token-cache.json': '~/.databricks/token-cache.json',
  keyring: 'the OS keyring'
};

/**
 * Where the server found it, in words: the server says `token-cache.json (<cache key>)`; the key
 * is worth saying only when it is not the card's host (a profile name, an account login).
 */
export function sourceText(source: string, conn: IConnection): string {
  const match = /^(\S+) \((.*)\)$/.exec(source);
  if (!match) {
    return source;
  }
  const [, store, key] = match;
  const where = STORES[store] ?? store;
  return key && key.replace(/\/+$/, '') !== conn.host.replace(/\/+$/, '')
    ? `${where}, entry ${key}`
    : where;
}

/** The question of the confirm step. */
export function cliQuestion(conn: IConnection, replaces: CliReplaces, source: string): string {
  const from = source ? ` (from ${sourceText(source, conn)})` : '';
  const ask = `Sign ${conn.name} in with your Databricks CLI sign-in${from}?`;
  if (replaces === 'expired') {
    return `${ask} It replaces the sign-in that expired.`;
  }
  if (replaces === 'current') {
    // The server puts the current sign-in back when Databricks refuses the CLI's: say so.
    const who = conn.identity ? ` as ${conn.identity}` : '';
    return (
      `${ask} It replaces your current sign-in${who}, ` +
      'which is kept should Databricks refuse the CLI\'s.'
    );
  }
  return ask;
}

/**
 * What `conn`'s card offers, or null: only a user connection, only when the server found a CLI
 * sign-in for it, and not while a sign-in window is open (that card's one action is Cancel).
 */
export function cliOffer(
  conn: IConnection,
  info: ICliLoginInfo | null,
  step: CliStep
): ICliOffer | null {
  if (conn.method !== 'u2m' || !info?.available || kindOf(conn) === 'pending') {
    return null;
  }
  const replaces = replacesOf(conn);
  const source = info.source ?? '';
  return {
    step,
    replaces,
    source,
    question: cliQuestion(conn, replaces, source),
    note: info.note || DEFAULT_CLI_NOTE
  };
}

/** A failed import, in words, with what to do next. */
export interface ICliError {
  message: string;
  hint: string;
}

/**
 * The error shown under the offer. A refresh token that Databricks refused is the CLI's own copy
 * gone stale (used up by a single-use refresh, revoked, expired): the way back is a new
 * `databricks auth login`, which the server's generic "sign in again" does not say.
 */
export function cliError(error: unknown, conn: IConnection | undefined): ICliError {
  const e = (error ?? {}) as Partial<IErrorText> & { message?: string };
  const message = e.message || String(error);
  let hint = typeof e.hint === 'string' ? e.hint : '';
  if (e.error === 'LoginRequired') {
    const host = conn?.host ? ` --host ${conn.host}` : '';
    // The server says when it put back the sign-in the import was to replace.
    const kept = hint.includes('previous sign-in is kept');
    hint =
      "Databricks refused the CLI's sign-in (used up, revoked or expired). Run " +
      `\`databricks auth login${host}\` again and then use it here` +
      (kept ? '. Your previous sign-in is kept.' : ', or press Log in.');
  } else if (e.status === 409) {
    // Signed in meanwhile (another tab, a notebook): the card now shows that sign-in.
    hint = `Press ${CLI_BUTTON_TEXT} again to replace the current sign-in.`;
  }
  return { message, hint };
}

export interface ICliCallbacks {
  /** The card's status after the import (the server's, as a status event carries it). */
  status: (conn: IConnection) => void;
  /** Something shown changed. */
  changed: () => void;
  /** Say it worked, and the note once more (the panel's notice). */
  done: (message: string, note: string) => void;
}

export class CliSignIns {
  constructor(
    private readonly _api: ICliApi,
    private readonly _on: ICliCallbacks
  ) {}

  /** What the card of `conn` offers (null: nothing). */
  offer(conn: IConnection): ICliOffer | null {
    return cliOffer(conn, this._info.get(conn.name) ?? null, this._step.get(conn.name) ?? 'idle');
  }

  /** The last failed import of `name`, until dismissed, retried or the connection signs in. */
  error(name: string): ICliError | null {
    return this._errors.get(name) ?? null;
  }

  /**
   * Ask the server about each user connection: those not asked yet, or all with `again` (the
   * Refresh button). Never on a timer: the CLI's sign-ins change only when someone runs it.
   */
  async check(connections: readonly IConnection[], again = false): Promise<void> {
    const names = connections
      .filter(c => c.method === 'u2m')
      .map(c => c.name)
      .filter(n => !this._asking.has(n) && (again || !this._info.has(n)));
    await Promise.all(names.map(n => this._ask(n)));
  }

  /** The button: show the note and the confirm step (the request waits for the confirm). */
  start(name: string): void {
    this._errors.delete(name);
    this._step.set(name, 'confirm');
    this._on.changed();
  }

  cancel(name: string): void {
    this._step.delete(name);
    this._on.changed();
  }

  dismissError(name: string): void {
    this._errors.delete(name);
    this._on.changed();
  }

  /**
   * The confirm button: the server imports and gets a first token with it. Replaces a sign-in only
   * when the card showed one (`overwrite`), so a sign-in made meanwhile elsewhere is refused
   * (409) rather than silently replaced. Resolves true when the server signed it in.
   */
  async confirm(conn: IConnection): Promise<boolean> {
    const name = conn.name;
    if (this._step.get(name) === 'busy') {
      return false;
    }
    const overwrite = replacesOf(conn) !== 'nothing';
    this._step.set(name, 'busy');
    this._errors.delete(name);
    this._on.changed();
    try {
      const reply = await this._api.useCliLogin(name, overwrite);
      this._step.delete(name);
      this._on.status(reply);
      if (reply.status === 'ok') {
        this._on.done(
          `Signed in to ${name} with your Databricks CLI sign-in.`,
          reply.note || DEFAULT_CLI_NOTE
        );
      }
      return reply.status === 'ok';
    } catch (error) {
      this._step.delete(name);
      this._errors.set(name, cliError(error, conn));
      if ((error as Partial<IErrorText>)?.status === 404) {
        void this._ask(name); // the CLI's sign-in is gone: stop offering it
      }
      return false;
    } finally {
      this._on.changed();
    }
  }

  /** A status from the server: a connection signed in (any way) has no CLI error to show. */
  statusChanged(conn: IConnection): void {
    const busy = this._step.get(conn.name) === 'busy';
    if (kindOf(conn) === 'ok' && !busy) {
      this._errors.delete(conn.name);
    }
  }

  private async _ask(name: string): Promise<void> {
    this._asking.add(name);
    try {
      this._info.set(name, await this._api.cliLogin(name));
    } catch {
      // An optional offer: a server that cannot tell (an older one, a malformed CLI cache) just
      // offers nothing; nobody asked for it yet.
      this._info.set(name, { connection: name, available: false, source: null, note: '' });
    } finally {
      this._asking.delete(name);
      this._on.changed();
    }
  }

  private _info = new Map<string, ICliLoginInfo>();
  private _asking = new Set<string>();
  private _step = new Map<string, CliStep>();
  private _errors = new Map<string, ICliError>();
}
