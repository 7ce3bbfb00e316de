/**
 * The panel's model: the state reducer fed by the server (listing, `api/events`, the callback
 * page's message), and the actions (log in, log out, add and delete service principals, use the
 * Databricks CLI's sign-in: `cli`).
 * No view code here; views listen to `changed`. Nothing here keeps a token or a secret.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { CliSignIns, ICliApi } from './cli';
import { IErrorText } from './errors';
import { cleanSignIn, DbxEvent, EMPTY_STATE, IDbxState, reduce } from './events';
import { LiveUpdates, LOGIN_MESSAGE } from './live';
import { cleanPasted, endsByPaste, IPasteOffer, pasteOffer, signInOf } from './paste';
import {
  IConnection,
  IConnectionsPayload,
  ILoginReply,
  INewServicePrincipal,
  IServicePrincipal,
  ISignIn
} from './types';

/** What the model needs of the server (implemented by `DbxAuthApi`; faked in tests). */
export interface IDbxApi extends ICliApi {
  connections(): Promise<IConnectionsPayload>;
  login(name: string): Promise<ILoginReply>;
  logout(name: string): Promise<IConnection>;
  cancelLogin(name: string): Promise<IConnection>;
  finishSignIn(name: string, address: string): Promise<IConnection>;
  servicePrincipals(): Promise<IServicePrincipal[]>;
  addServicePrincipal(sp: INewServicePrincipal, secret: string): Promise<IServicePrincipal>;
  deleteServicePrincipal(connection: string, clientId: string): Promise<void>;
  eventsUrl(): string;
}

/** A message above the connections: an error in words, or a short confirmation. */
export interface INotice {
  kind: 'error' | 'info';
  message: string;
  hint: string;
}

export { LOGIN_MESSAGE } from './live';

export interface IModelOptions {
  api: IDbxApi;
  /** `window.open`; returns null when the browser blocked the window. */
  openWindow?: (url: string) => Window | null;
  /** Follow the events stream and the callback page (default: in a browser with EventSource). */
  live?: boolean;
  /** How often to look whether a sign-in window was closed (ms), and how long to let a sign-in
   * that just completed (its window closes itself) report before calling it cancelled. */
  windowPollMs?: number;
  windowGraceMs?: number;
}

export function toNotice(error: unknown): INotice {
  const e = error as Partial<IErrorText> & { message?: string };
  return {
    kind: 'error',
    message: e?.message || String(error),
    hint: typeof e?.hint === 'string' ? e.hint : ''
  };
}

export class DbxAuthModel implements IDisposable {
  constructor(options: IModelOptions) {
    this._api = options.api;
    this._openWindow =
      options.openWindow ??
      ((url: string) => window.open(url, '_blank', 'popup=yes,width=560,height=720'));
    this._live = options.live ?? typeof EventSource !== 'undefined';
    this._windowPollMs = options.windowPollMs ?? 500;
    this._windowGraceMs = options.windowGraceMs ?? 1500;
    this._cli = new CliSignIns(this._api, {
      status: connection => this.dispatch({ type: 'status', connection }),
      changed: () => this._changed.emit(),
      done: (message, hint) => this.setNotice({ kind: 'info', message, hint })
    });
  }

  /** "Use my Databricks CLI sign-in" on each user connection's card. */
  get cli(): CliSignIns {
    return this._cli;
  }

  get state(): IDbxState {
    return this._state;
  }
  get notice(): INotice | null {
    return this._notice;
  }
  /** True while the events stream is open: no polling is needed then. */
  get streamLive(): boolean {
    return this._streamLive;
  }
  /** Actions in flight, e.g. `login:ws`, so that views disable their buttons. */
  isBusy(key: string): boolean {
    return this._busy.has(key);
  }
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }

  dispatch(event: DbxEvent): void {
    this._state = reduce(this._state, event);
    if (event.type === 'status' && event.connection.status !== 'login_pending') {
      this._forgetSignIn(event.connection.name); // that sign-in ended, one way or another
    }
    if (event.type === 'status') {
      const conn = this._state.connections.find(c => c.name === event.connection.name);
      if (conn) {
        this._cli.statusChanged(conn);
      }
    } else if (event.type === 'snapshot') {
      void this._cli.check(this._state.connections); // connections not asked about yet
    }
    this._changed.emit();
  }

  /** The paste field of `name`'s pending sign-in, or null when the card shows none. */
  pasteOffer(name: string): IPasteOffer | null {
    const conn = this._state.connections.find(c => c.name === name);
    if (!conn) {
      return null;
    }
    return pasteOffer(conn, this._started.get(name) ?? null, this._pasteOpen.has(name));
  }

  /** What the server said about the last pasted address (shown under the field), or null. */
  pasteError(name: string): INotice | null {
    return this._pasteErrors.get(name) ?? null;
  }

  /** The "Browser on another machine?" link: show the field of a sign-in that hands on. */
  openPaste(name: string): void {
    this._pasteOpen.add(name);
    this._changed.emit();
  }

  /**
   * Finish `name`'s pending sign-in with the address the browser ended on. Resolves true when the
   * server accepted it; otherwise its message and hint are under the field (`pasteError`) and the
   * caller keeps the text so that the person can fix it.
   */
  async finishSignIn(name: string, address: string): Promise<boolean> {
    const key = `paste:${name}`;
    this._busy.add(key);
    this._pasteErrors.delete(name);
    this._changed.emit();
    try {
      const conn = await this._api.finishSignIn(name, cleanPasted(address));
      const popup = this._popups.get(name);
      this._unwatchWindow(name);
      popup?.close(); // it shows the page that could not open
      this.dispatch({ type: 'status', connection: conn });
      this._forgetSignIn(name);
      if (conn.status === 'ok') {
        this._notice = { kind: 'info', message: `Signed in to ${name}.`, hint: '' };
      }
      return true;
    } catch (error) {
      const { message, hint } = toNotice(error);
      this._pasteErrors.set(name, { kind: 'error', message, hint });
      return false;
    } finally {
      this._busy.delete(key);
      this._changed.emit();
    }
  }

  setNotice(notice: INotice | null): void {
    this._notice = notice;
    this._changed.emit();
  }

  /** Start: list, open the events stream, listen for the callback page, poll as a fallback. */
  start(refreshSeconds: number): void {
    this.setRefreshInterval(refreshSeconds);
    void this.refresh();
    if (this._live && this._updates === null) {
      this._updates = new LiveUpdates(() => this._api.eventsUrl(), {
        snapshot: payload => this.dispatch({ type: 'snapshot', payload }),
        status: connection => {
          this.dispatch({ type: 'status', connection });
          this._principalsSoon();
        },
        streaming: live => {
          this._streamLive = live;
          this._changed.emit();
        },
        login: data => this.handleLoginMessage(data)
      });
      this._updates.open();
    }
  }

  /** Poll every `seconds` while the events stream is down (and list service principals). */
  setRefreshInterval(seconds: number): void {
    if (this._timer !== null) {
      clearInterval(this._timer);
    }
    const ms = Math.max(5, seconds) * 1000;
    this._timer = setInterval(() => {
      if (!this._streamLive) {
        void this.refresh();
        this._updates?.open();
      }
    }, ms);
  }

  /**
   * Connections and service principals from the server. `recheck` (the Refresh button, the
   * command): also ask again whether the Databricks CLI holds a sign-in for each connection.
   */
  async refresh(recheck = false): Promise<void> {
    try {
      const [payload, sps] = await Promise.all([
        this._api.connections(),
        this._api.servicePrincipals()
      ]);
      this._state = reduce(this._state, { type: 'snapshot', payload });
      this._state = reduce(this._state, { type: 'service-principals', servicePrincipals: sps });
      void this._cli.check(this._state.connections, recheck);
      if (this._notice?.kind === 'error' && this._refreshFailed) {
        this._notice = null;
      }
      this._refreshFailed = false;
      this._changed.emit();
    } catch (error) {
      this._refreshFailed = true;
      this.setNotice(toNotice(error));
    }
  }

  /**
   * Open the sign-in in a new window. Call from a click handler: the window is opened before
   * the first `await`, while the browser still counts the click (pop-up blockers).
   */
  async login(name: string): Promise<void> {
    const popup = this._openWindow('about:blank');
    const reply = await this._run(`login:${name}`, () => this._api.login(name));
    if (reply === undefined) {
      popup?.close();
      return;
    }
    this._forgetSignIn(name);
    const started = cleanSignIn(reply);
    if (started) {
      this._started.set(name, started);
    }
    const url = reply.authorize_url ?? reply.login_url;
    if (popup && !popup.closed) {
      popup.location.href = url;
      this._watchWindow(name, popup);
    } else if (!this._openWindow(url)) {
      this.setNotice({
        kind: 'error',
        message: 'The browser blocked the sign-in window.',
        hint: 'Allow pop-ups for this JupyterLab page, then press Log in again.'
      });
    }
  }

  /** Give up the pending sign-in of `name` (Cancel, or its window was closed). */
  async cancelLogin(name: string): Promise<void> {
    const popup = this._popups.get(name);
    this._unwatchWindow(name);
    if (popup && !popup.closed) {
      popup.close(); // Cancel pressed in the panel: the sign-in window goes too
    }
    const conn = await this._run(`cancel:${name}`, () => this._api.cancelLogin(name));
    if (conn) {
      this.dispatch({ type: 'status', connection: conn });
      this._forgetSignIn(name);
    }
  }

  /**
   * Whether a pending sign-in outlives its window: it ends by a pasted address (the window may be
   * closed long before, e.g. after copying the address on a remote setup), the person opened the
   * paste field, or an address is being sent.
   */
  private _outlivesWindow(conn: IConnection): boolean {
    const name = conn.name;
    return (
      endsByPaste(signInOf(conn, this._started.get(name) ?? null)) ||
      this._pasteOpen.has(name) ||
      this._busy.has(`paste:${name}`)
    );
  }

  private _forgetSignIn(name: string): void {
    this._started.delete(name);
    this._pasteOpen.delete(name);
    this._pasteErrors.delete(name);
  }

  /**
   * JupyterLab sees the sign-in window close. If the sign-in is still pending a moment later (a
   * completed one closes its window itself, and reports first), it was abandoned: cancel it so
   * the card goes back to what it showed before. Not a sign-in that ends by a pasted address.
   */
  private _watchWindow(name: string, popup: Window): void {
    this._unwatchWindow(name);
    this._popups.set(name, popup);
    const timer = setInterval(() => {
      if (!popup.closed) {
        return;
      }
      this._unwatchWindow(name);
      const grace = setTimeout(() => {
        this._graceTimers.delete(grace);
        const conn = this._state.connections.find(c => c.name === name);
        if (
          conn?.status === 'login_pending' &&
          conn.reason !== 'kernel_waiting' &&
          !this._outlivesWindow(conn)
        ) {
          void this.cancelLogin(name);
        }
      }, this._windowGraceMs);
      this._graceTimers.add(grace);
    }, this._windowPollMs);
    this._windows.set(name, timer);
  }

  private _unwatchWindow(name: string): void {
    this._popups.delete(name);
    const timer = this._windows.get(name);
    if (timer !== undefined) {
      clearInterval(timer);
      this._windows.delete(name);
    }
  }

  async logout(name: string): Promise<void> {
    const conn = await this._run(`logout:${name}`, () => this._api.logout(name));
    if (conn) {
      this.dispatch({ type: 'status', connection: conn });
      this.setNotice({ kind: 'info', message: `Logged out of ${name}.`, hint: '' });
    }
  }

  /**
   * Save a service principal. `secret` is passed straight into the request and dropped; the
   * caller clears its input before calling. Resolves true when the server stored it.
   */
  async addServicePrincipal(sp: INewServicePrincipal, secret: string): Promise<boolean> {
    const saved = await this._run(`add-sp:${sp.connection}`, () =>
      this._api.addServicePrincipal(sp, secret)
    );
    if (!saved) {
      return false;
    }
    this.setNotice({
      kind: 'info',
      message: `Saved service principal ${saved.label || saved.client_id} for ${sp.connection}.`,
      hint: ''
    });
    await this._reloadPrincipals();
    return true;
  }

  async deleteServicePrincipal(connection: string, clientId: string): Promise<void> {
    const key = `delete-sp:${connection}/${clientId}`;
    const done = await this._run(key, async () => {
      await this._api.deleteServicePrincipal(connection, clientId);
      return true;
    });
    if (done) {
      await this._reloadPrincipals();
    }
  }

  /** The callback page posted its message: the login completed (the stream may be slower). */
  handleLoginMessage(data: unknown): void {
    const msg = data as { type?: unknown; connection?: unknown } | null;
    if (!msg || msg.type !== LOGIN_MESSAGE || typeof msg.connection !== 'string') {
      return;
    }
    this._notice = { kind: 'info', message: `Signed in to ${msg.connection}.`, hint: '' };
    void this.refresh();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._timer !== null) {
      clearInterval(this._timer);
    }
    if (this._principalsTimer !== null) {
      clearTimeout(this._principalsTimer);
    }
    for (const name of [...this._windows.keys()]) {
      this._unwatchWindow(name);
    }
    this._graceTimers.forEach(t => clearTimeout(t));
    this._updates?.dispose();
    Signal.clearData(this);
  }

  private async _reloadPrincipals(): Promise<void> {
    try {
      const sps = await this._api.servicePrincipals();
      this.dispatch({ type: 'service-principals', servicePrincipals: sps });
    } catch (error) {
      this.setNotice(toNotice(error));
    }
  }

  /** A status change may come with a service principal saved elsewhere (a kernel's widget). */
  private _principalsSoon(): void {
    if (this._principalsTimer !== null) {
      clearTimeout(this._principalsTimer);
    }
    this._principalsTimer = setTimeout(() => {
      this._principalsTimer = null;
      void this._reloadPrincipals();
    }, 500);
  }

  /** Run an action: mark it busy, turn a failure into a notice, return undefined then. */
  private async _run<T>(key: string, action: () => Promise<T>): Promise<T | undefined> {
    this._busy.add(key);
    this._notice = null;
    this._changed.emit();
    try {
      return await action();
    } catch (error) {
      this._notice = toNotice(error);
      return undefined;
    } finally {
      this._busy.delete(key);
      this._changed.emit();
    }
  }

  private _api: IDbxApi;
  private _cli: CliSignIns;
  private _openWindow: (url: string) => Window | null;
  private _live: boolean;
  private _state: IDbxState = EMPTY_STATE;
  private _notice: INotice | null = null;
  private _refreshFailed = false;
  private _streamLive = false;
  private _busy = new Set<string>();
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _principalsTimer: ReturnType<typeof setTimeout> | null = null;
  private _updates: LiveUpdates | null = null;
  private _disposed = false;
  private _windowPollMs: number;
  private _windowGraceMs: number;
  private _windows = new Map<string, ReturnType<typeof setInterval>>();
  private _popups = new Map<string, Window>();
  /** How each sign-in this panel started ends (the login reply), until its status says so. */
  private _started = new Map<string, ISignIn>();
  private _pasteOpen = new Set<string>();
  private _pasteErrors = new Map<string, INotice>();
  private _graceTimers = new Set<ReturnType<typeof setTimeout>>();
  private _changed = new Signal<this, void>(this);
}
