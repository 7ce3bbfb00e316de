/** One connection: host, status, warnings, actions and its service principals. */
import * as React from 'react';

import { principalsOf } from '../model/events';
import { DbxAuthModel } from '../model/model';
import { describe, describeProblem } from '../model/status';
import { IConnection, IProblem } from '../model/types';
import { ServicePrincipals } from './ServicePrincipals';
import { StatusLine } from './StatusLine';

export interface IConnectionCardProps {
  model: DbxAuthModel;
  connection: IConnection;
  now: number;
  onInsert: (name: string) => void;
}

const METHOD: Record<string, string> = {
  u2m: 'user sign-in',
  m2m: 'service principal',
  wif: 'workload identity',
  pat: 'personal access token'
};

export function ConnectionCard(props: IConnectionCardProps): JSX.Element {
  const { model, connection: conn, now, onInsert } = props;
  const line = describe(conn, now);
  const signedIn = ['ok', 'warning', 'refreshing'].includes(line.kind);
  const canLogin = conn.method === 'u2m' && !signedIn;
  const canLogout = conn.method === 'u2m' && line.kind !== 'logged_out';
  return (
    <li className="jp-DbxAuth-connection" data-connection={conn.name}>
      <div className="jp-DbxAuth-connectionHeader">
        <span className="jp-DbxAuth-name">{conn.name}</span>
        <span className="jp-DbxAuth-method">{METHOD[conn.method] ?? conn.method}</span>
      </div>
      <div className="jp-DbxAuth-host" title={conn.host}>
        {conn.host}
        {conn.account ? ' (account console)' : ''}
      </div>
      <StatusLine line={line} />
      {conn.warnings.length > 0 && (
        <ul className="jp-DbxAuth-warnings">
          {conn.warnings.map(w => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      <div className="jp-DbxAuth-actions">
        {canLogin && (
          <button
            className="jp-mod-styled jp-mod-accept"
            disabled={model.isBusy(`login:${conn.name}`)}
            onClick={() => void model.login(conn.name)}
          >
            Log in
          </button>
        )}
        {canLogout && (
          <button
            className="jp-mod-styled jp-mod-reject"
            disabled={model.isBusy(`logout:${conn.name}`)}
            onClick={() => void model.logout(conn.name)}
          >
            Log out
          </button>
        )}
        <button
          className="jp-mod-styled"
          title="Insert %dbx_connect into the active notebook cell"
          onClick={() => onInsert(conn.name)}
        >
          Insert %dbx_connect
        </button>
      </div>
      <ServicePrincipals
        model={model}
        connection={conn}
        principals={principalsOf(model.state, conn.name)}
        now={now}
      />
    </li>
  );
}

/** A connection the server could not resolve: its error and what to fix. */
export function ProblemCard(props: { problem: IProblem }): JSX.Element {
  const { problem } = props;
  return (
    <li className="jp-DbxAuth-connection jp-DbxAuth-problem" data-connection={problem.name}>
      <div className="jp-DbxAuth-connectionHeader">
        <span className="jp-DbxAuth-name">{problem.name}</span>
        <span className="jp-DbxAuth-method">not usable</span>
      </div>
      <StatusLine line={describeProblem(problem)} />
    </li>
  );
}
