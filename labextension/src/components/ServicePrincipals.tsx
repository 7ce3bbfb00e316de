/** The service principals stored for a connection: list, expiry warnings, delete, add. */
import * as React from 'react';
import { useState } from 'react';

import { DbxAuthModel } from '../model/model';
import { expiryOf, worstExpiry } from '../model/principals';
import { IConnection, IServicePrincipal } from '../model/types';
import { AddPrincipalForm } from './AddPrincipalForm';

export interface IServicePrincipalsProps {
  model: DbxAuthModel;
  connection: IConnection;
  principals: IServicePrincipal[];
  now: number;
}

/**
 * What a card offers for service principals. A service-principal connection whose secret comes
 * from its profile, the environment or the server config has nothing to add (that secret wins);
 * one without a secret offers to add exactly its own; a user connection can keep any number
 * beside the sign-in (for `%dbx_connect NAME --sp LABEL`).
 */
export function spOffer(connection: IConnection): 'none' | 'own' | 'any' {
  if (connection.method === 'm2m') {
    return connection.credentials === 'missing' ? 'own' : 'none';
  }
  return 'any';
}

export function ServicePrincipals(props: IServicePrincipalsProps): JSX.Element | null {
  const { model, connection, principals, now } = props;
  const expiries = principals.map(sp => expiryOf(sp, now));
  const level = worstExpiry(expiries.map(e => e.level));
  const offer = spOffer(connection);
  const open = principals.length > 0 || offer === 'own';
  const [adding, setAdding] = useState(false);
  if (offer === 'none' && principals.length === 0) {
    return null;
  }
  const addLabel = offer === 'own' ? 'Add the secret…' : 'Add a service principal…';
  return (
    <details className="jp-DbxAuth-sps" open={open}>
      <summary>
        {offer === 'own' ? 'Secret of this service principal' : `Service principals (${principals.length})`}
        {(level === 'soon' || level === 'expired') && (
          <span className={`jp-DbxAuth-expiry-${level}`}>
            {level === 'soon' ? ' · a secret expires soon' : ' · a secret has expired'}
          </span>
        )}
      </summary>
      <ul className="jp-DbxAuth-spList">
        {principals.map((sp, i) => (
          <li key={sp.client_id} className="jp-DbxAuth-sp" data-client-id={sp.client_id}>
            <div className="jp-DbxAuth-spName">
              {sp.label ? `${sp.label} · ` : ''}
              <code>{sp.client_id}</code>
            </div>
            <div className={`jp-DbxAuth-spExpiry jp-DbxAuth-expiry-${expiries[i].level}`}>
              {expiries[i].text}
            </div>
            <button
              className="jp-mod-styled jp-mod-warn"
              aria-label={`Delete service principal ${sp.client_id}`}
              disabled={model.isBusy(`delete-sp:${sp.connection}/${sp.client_id}`)}
              onClick={() => void model.deleteServicePrincipal(sp.connection, sp.client_id)}
            >
              Delete
            </button>
          </li>
        ))}
      </ul>
      {offer !== 'none' &&
        (adding ? (
          <AddPrincipalForm
            model={model}
            connection={connection.name}
            clientId={offer === 'own' ? (connection.client_id ?? '') : undefined}
            onDone={() => setAdding(false)}
          />
        ) : (
          <button className="jp-mod-styled jp-DbxAuth-addSp" onClick={() => setAdding(true)}>
            {addLabel}
          </button>
        ))}
    </details>
  );
}
