/**
 * The panel's state and how server events change it: a snapshot replaces everything, a status
 * event replaces one connection. A reducer, so that the order of events is all that matters.
 */
import {
  IConnection,
  IConnectionsPayload,
  IProblem,
  IServicePrincipal,
  ISignIn,
  IStoreInfo
} from './types';

export interface IDbxState {
  /** False until the first snapshot or listing arrives. */
  loaded: boolean;
  connections: IConnection[];
  problems: IProblem[];
  store: IStoreInfo | null;
  servicePrincipals: IServicePrincipal[];
}

export const EMPTY_STATE: IDbxState = {
  loaded: false,
  connections: [],
  problems: [],
  store: null,
  servicePrincipals: []
};

export type DbxEvent =
  | { type: 'snapshot'; payload: IConnectionsPayload }
  | { type: 'status'; connection: IConnection }
  | { type: 'service-principals'; servicePrincipals: IServicePrincipal[] };

const byName = (a: { name: string }, b: { name: string }): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** Drop the event envelope and anything the panel does not know (no surprise fields kept). */
export function cleanConnection(raw: IConnection & { type?: string }): IConnection {
  return {
    name: raw.name,
    host: raw.host,
    method: raw.method,
    account_id: raw.account_id ?? null,
    account: Boolean(raw.account),
    client_id: raw.client_id ?? null,
    scopes: Array.isArray(raw.scopes) ? raw.scopes : [],
    source: raw.source ?? '',
    status: raw.status ?? (raw as { state?: string }).state ?? 'error',
    message: raw.message ?? null,
    hint: raw.hint ?? null,
    warnings: Array.isArray(raw.warnings) ? raw.warnings : [],
    identity: raw.identity ?? null,
    expires_at: typeof raw.expires_at === 'number' ? raw.expires_at : null,
    reason: typeof raw.reason === 'string' ? raw.reason : null,
    credentials: typeof raw.credentials === 'string' ? raw.credentials : null,
    sign_in: cleanSignIn(raw.sign_in)
  };
}

/** A status's `sign_in`, or null when it is missing or not the shape the server sends. */
export function cleanSignIn(raw: unknown): ISignIn | null {
  if (!raw || typeof raw !== 'object') {
    return null;
  }
  const { finish, paste_prefix, message } = raw as Record<string, unknown>;
  if (typeof finish !== 'string') {
    return null;
  }
  return {
    finish,
    paste_prefix: typeof paste_prefix === 'string' ? paste_prefix : null,
    message: typeof message === 'string' && message ? message : null
  };
}

export function reduce(state: IDbxState, event: DbxEvent): IDbxState {
  switch (event.type) {
    case 'snapshot': {
      const payload = event.payload;
      return {
        ...state,
        loaded: true,
        connections: (payload.connections ?? []).map(cleanConnection).sort(byName),
        problems: [...(payload.problems ?? [])].sort(byName),
        store: payload.store ?? null
      };
    }
    case 'status': {
      const next = cleanConnection(event.connection);
      const index = state.connections.findIndex(c => c.name === next.name);
      if (index < 0) {
        // Not one of the listed connections (e.g. a service principal's own cache entry):
        // the next snapshot or listing brings anything new.
        return state;
      }
      const connections = state.connections.slice();
      connections[index] = next;
      return { ...state, connections };
    }
    case 'service-principals':
      return {
        ...state,
        servicePrincipals: event.servicePrincipals
          .slice()
          .sort((a, b) =>
            a.connection === b.connection
              ? a.client_id.localeCompare(b.client_id)
              : a.connection.localeCompare(b.connection)
          )
      };
  }
}

/** The service principals stored for one connection. */
export function principalsOf(state: IDbxState, name: string): IServicePrincipal[] {
  return state.servicePrincipals.filter(sp => sp.connection === name);
}
