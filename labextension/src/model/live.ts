/**
 * Live updates from the server: the `api/events` stream (a `snapshot`, then one `status` per
 * change) and the callback page's message (BroadcastChannel and `window.opener.postMessage`)
 * when a sign-in completes. Browser plumbing only; the model decides what each one means.
 */
import { IDisposable } from '@lumino/disposable';

import { IConnection, IConnectionsPayload } from './types';

/** The message the callback page posts, and the channel it posts it on. */
export const LOGIN_MESSAGE = 'jupyter-dbx-auth:login';
export const CHANNEL = 'jupyter-dbx-auth';

export interface ILiveHandlers {
  snapshot: (payload: IConnectionsPayload) => void;
  status: (connection: IConnection) => void;
  /** The stream opened (true) or broke (false). */
  streaming: (live: boolean) => void;
  /** The callback page's message (not yet checked: see `DbxAuthModel.handleLoginMessage`). */
  login: (data: unknown) => void;
}

export class LiveUpdates implements IDisposable {
  constructor(
    private readonly _url: () => string,
    private readonly _handlers: ILiveHandlers
  ) {
    if (typeof BroadcastChannel !== 'undefined') {
      this._channel = new BroadcastChannel(CHANNEL);
      this._channel.onmessage = (event: MessageEvent) => this._handlers.login(event.data);
    }
    window.addEventListener('message', this._onWindowMessage);
  }

  /** True while an EventSource exists (open or reconnecting by itself). */
  get connected(): boolean {
    return this._source !== null;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Open the stream unless it is open; call again after it was refused to retry. */
  open(): void {
    if (this._source !== null || this._disposed) {
      return;
    }
    const source = new EventSource(this._url(), { withCredentials: true });
    this._source = source;
    source.addEventListener('snapshot', (event: MessageEvent) => {
      this._handlers.streaming(true);
      this._handlers.snapshot(JSON.parse(event.data));
    });
    source.addEventListener('status', (event: MessageEvent) => {
      this._handlers.status(JSON.parse(event.data));
    });
    source.onerror = () => {
      // EventSource reconnects by itself after a network error; a refused stream is closed
      // and left for the caller's next `open()`.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        this._source = null;
      }
      this._handlers.streaming(false);
    };
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._source?.close();
    this._source = null;
    this._channel?.close();
    window.removeEventListener('message', this._onWindowMessage);
  }

  private _onWindowMessage = (event: MessageEvent): void => {
    if (event.origin === window.location.origin) {
      this._handlers.login(event.data);
    }
  };

  private _source: EventSource | null = null;
  private _channel: BroadcastChannel | null = null;
  private _disposed = false;
}
