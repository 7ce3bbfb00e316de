/**
 * JSON shapes of the jupyter-dbx-auth server API (see jupyter_dbx_auth/server/handlers/).
 * Status only: the server never sends a token or a secret to the browser.
 */

/** The broker's states (jupyter_dbx_auth/core/status.py). */
export type ConnectionState =
  | 'logged_out'
  | 'login_pending'
  | 'ok'
  | 'refreshing'
  | 'login_required'
  | 'error';

/** How a connection authenticates. */
export type AuthMethod = 'u2m' | 'm2m' | 'wif' | 'pat';

/** One connection as `GET api/connections` and the `status` events describe it. */
export interface IConnection {
  name: string;
  host: string;
  method: AuthMethod | string;
  account_id: string | null;
  account: boolean;
  client_id: string | null;
  scopes: string[];
  source: string;
  status: ConnectionState | string;
  message: string | null;
  hint: string | null;
  warnings: string[];
  identity: string | null;
  /** Epoch seconds at which the server's cached access token expires. */
  expires_at: number | null;
  /**
   * Why the connection is in its state, where the state alone would mislead:
   * `not_signed_in`, `expired`, `declined`, `cancelled`, `kernel_waiting` (core/status.py).
   */
  reason: string | null;
  /** Service principals: where the secret comes from (`profile`, `environment`, `config`,
   * `stored`, `missing`); null for other methods. */
  credentials: string | null;
  /** While `status == "login_pending"`: how that sign-in ends (null otherwise, or from a server
   * that predates the paste path). */
  sign_in: ISignIn | null;
}

/**
 * How a pending sign-in ends. `callback`: Databricks sends the browser to this Jupyter.
 * `handoff`: to `localhost:8020`, which this server listens on and hands on (a browser on this
 * machine). `paste`: to `localhost:8020` that no one answers (a browser elsewhere, or the port
 * busy): the person pastes the address the browser ended on.
 */
export type SignInFinish = 'callback' | 'handoff' | 'paste';

export interface ISignIn {
  finish: SignInFinish | string;
  /** How the address to paste starts (`http://localhost:8020/?`), null for `callback`. */
  paste_prefix: string | null;
  /** The server's words for this ending (the paste instruction, or why port 8020 is busy). */
  message: string | null;
}

/** A connection the server could not resolve (bad config): always shown as an error. */
export interface IProblem {
  name: string;
  message: string;
  hint: string;
}

export interface IStoreInfo {
  backend: string;
  warnings: string[];
}

/** `GET api/connections`, and the `snapshot` event of `api/events`. */
export interface IConnectionsPayload {
  connections: IConnection[];
  problems: IProblem[];
  store: IStoreInfo;
}

/** A `status` event of `api/events`. */
export interface IStatusEvent extends IConnection {
  type: 'status';
}

/** A stored service principal (the secret is write-only: never returned). */
export interface IServicePrincipal {
  connection: string;
  client_id: string;
  label: string;
  expires_at: number | null;
  warning: string | null;
  has_secret: boolean;
}

/** `POST api/connections/{name}/login`. */
export interface ILoginReply extends Partial<ISignIn> {
  authorize_url: string | null;
  login_url: string;
  expires_at: number | null;
}

/** What the UI needs to add a service principal (the secret goes straight into the request). */
export interface INewServicePrincipal {
  connection: string;
  client_id: string;
  label: string;
  /** An ISO date (`2027-01-31`) or empty. */
  expires_at: string;
}

/**
 * `GET api/connections/{name}/cli-login`: whether the Databricks CLI (`databricks auth login`)
 * holds a sign-in for the connection's host, and where (never a token).
 */
export interface ICliLoginInfo {
  connection: string;
  available: boolean;
  /** Where it is: `token-cache.json (<cache key>)` or `keyring (<cache key>)`; null if none. */
  source: string | null;
  /** What using it means for the CLI (single-use refresh tokens): said before and after. */
  note: string;
}

/** `POST api/connections/{name}/cli-login`: the connection's status after the import. */
export interface ICliLoginReply extends IConnection {
  imported_from: string;
  note: string;
}
