/**
 * The server API, through `ServerConnection.makeRequest` (it adds the XSRF header and the Jupyter
 * token, if any). Replies carry status only; the one secret this module ever sends, a service
 * principal's, goes into the request body and is not kept.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { errorFromReply, IErrorText, networkError } from './model/errors';
import {
  ICliLoginInfo,
  ICliLoginReply,
  IConnection,
  IConnectionsPayload,
  ILoginReply,
  INewServicePrincipal,
  IServicePrincipal
} from './model/types';
import { apiUrl, eventsUrlOf } from './urls';

/** A failed request, with the server's message and hint. */
export class DbxApiError extends Error implements IErrorText {
  readonly status: number;
  readonly hint: string;
  readonly error?: string;

  constructor(text: IErrorText) {
    super(text.message);
    this.name = 'DbxApiError';
    this.status = text.status;
    this.hint = text.hint;
    if (text.error) {
      this.error = text.error;
    }
  }
}

export class DbxAuthApi {
  readonly settings: ServerConnection.ISettings;

  constructor(settings?: ServerConnection.ISettings) {
    this.settings = settings ?? ServerConnection.makeSettings();
  }

  /** `GET api/connections`. */
  connections(): Promise<IConnectionsPayload> {
    return this.request<IConnectionsPayload>(['api', 'connections']);
  }

  /** `POST api/connections/{name}/login` → the authorize URL to open in a new window. */
  login(name: string): Promise<ILoginReply> {
    return this.request<ILoginReply>(['api', 'connections', name, 'login'], {
      method: 'POST',
      body: '{}'
    });
  }

  /** `POST api/connections/{name}/logout` → the connection's new status. */
  logout(name: string): Promise<IConnection> {
    return this.request<IConnection>(['api', 'connections', name, 'logout'], {
      method: 'POST',
      body: '{}'
    });
  }

  /** `POST api/connections/{name}/cancel`: give up a pending sign-in → the new status. */
  cancelLogin(name: string): Promise<IConnection> {
    return this.request<IConnection>(['api', 'connections', name, 'cancel'], {
      method: 'POST',
      body: '{}'
    });
  }

  /**
   * `POST api/connections/{name}/callback` with the address the sign-in ended on → the connection's
   * new status. The server checks it as it checks its own callback (state, user, PKCE).
   */
  finishSignIn(name: string, address: string): Promise<IConnection> {
    return this.request<IConnection>(['api', 'connections', name, 'callback'], {
      method: 'POST',
      body: JSON.stringify({ url: address })
    });
  }

  /** `GET api/connections/{name}/cli-login`: does the Databricks CLI hold a sign-in for it? */
  cliLogin(name: string): Promise<ICliLoginInfo> {
    return this.request<ICliLoginInfo>(['api', 'connections', name, 'cli-login']);
  }

  /**
   * `POST api/connections/{name}/cli-login`: the server copies the CLI's sign-in and gets a first
   * token with it → the connection's new status. `overwrite` replaces a sign-in it already holds.
   */
  useCliLogin(name: string, overwrite: boolean): Promise<ICliLoginReply> {
    return this.request<ICliLoginReply>(['api', 'connections', name, 'cli-login'], {
      method: 'POST',
      body: JSON.stringify({ overwrite })
    });
  }

  /** `GET api/service-principals` (all connections). */
  async servicePrincipals(): Promise<IServicePrincipal[]> {
    const reply = await this.request<{ service_principals: IServicePrincipal[] }>([
      'api',
      'service-principals'
    ]);
    return reply.service_principals ?? [];
  }

  /** `POST api/service-principals`: the server tests the secret once, then stores it. */
  addServicePrincipal(sp: INewServicePrincipal, secret: string): Promise<IServicePrincipal> {
    const body = JSON.stringify({
      connection: sp.connection,
      client_id: sp.client_id.trim(),
      client_secret: secret,
      label: sp.label.trim(),
      expires_at: sp.expires_at || null
    });
    return this.request<IServicePrincipal>(['api', 'service-principals'], {
      method: 'POST',
      body
    });
  }

  /** `DELETE api/service-principals?connection=&client_id=`. */
  async deleteServicePrincipal(connection: string, clientId: string): Promise<void> {
    const query = URLExt.objectToQueryString({ connection, client_id: clientId });
    await this.request<null>(['api', 'service-principals'], { method: 'DELETE' }, query);
  }

  /**
   * The `api/events` stream URL, with the token when JupyterLab appends it to sockets too, and
   * the `_xsrf` cookie's value: an EventSource cannot send headers, and a JupyterHub single-user
   * server refuses a cookie-authenticated GET to an API without it (JupyterHub >= 4.1).
   */
  eventsUrl(): string {
    return eventsUrlOf(
      apiUrl(this.settings.baseUrl, 'api', 'events'),
      this.settings.appendToken ? this.settings.token : '',
      typeof document === 'undefined' ? '' : document.cookie
    );
  }

  private async request<T>(segments: string[], init: RequestInit = {}, query = ''): Promise<T> {
    const url = apiUrl(this.settings.baseUrl, ...segments) + query;
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new DbxApiError(networkError(reason));
    }
    const text = await response.text();
    if (!response.ok) {
      throw new DbxApiError(errorFromReply(response.status, text));
    }
    return (text ? JSON.parse(text) : null) as T;
  }
}
