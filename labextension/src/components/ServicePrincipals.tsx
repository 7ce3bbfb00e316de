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

export function ServicePrincipals(props: IServicePrincipalsProps): JSX.Element {
  const { model, connection, principals, now } = props;
  const expiries = principals.map(sp => expiryOf(sp, now));
  const level = worstExpiry(expiries.map(e => e.level));
  const open = principals.length > 0 || connection.method === 'm2m';
  const [adding, setAdding] = useState(false);
  return (
    <details className="jp-DbxAuth-sps" open={open}>
      <summary>
        Service principals ({principals.length})
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
      {adding ? (
        <AddPrincipalForm
          model={model}
          connection={connection.name}
          onDone={() => setAdding(false)}
        />
      ) : (
        <button className="jp-mod-styled jp-DbxAuth-addSp" onClick={() => setAdding(true)}>
          Add a service principal…
        </button>
      )}
    </details>
  );
}
