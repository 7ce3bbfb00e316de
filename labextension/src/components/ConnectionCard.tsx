/** One connection: host, status, warnings, actions and its service principals. */
import * as React from 'react';

import { principalsOf } from '../model/events';
import { DbxAuthModel } from '../model/model';
import { describe, describeProblem, StatusKind } from '../model/status';
import { IConnection, IProblem } from '../model/types';
import { CliButton, CliSignIn } from './CliSignIn';
import { PasteField } from './PasteField';
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
  const actions = actionsOf(conn, line.kind);
  // The credentials line already says a secret is missing: do not repeat it as a warning.
  const warnings =
    conn.credentials === 'missing'
      ? conn.warnings.filter(w => !w.startsWith('Credentials missing'))
      : conn.warnings;
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
      <CredentialsLine connection={conn} />
      {warnings.length > 0 && (
        <ul className="jp-DbxAuth-warnings">
          {warnings.map(w => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      <PasteField model={model} name={conn.name} />
      <CliSignIn model={model} connection={conn} />
      <div className="jp-DbxAuth-actions">
        {actions.login && (
          <button
            className="jp-mod-styled jp-mod-accept"
            disabled={model.isBusy(`login:${conn.name}`)}
            onClick={() => void model.login(conn.name)}
          >
            Log in
          </button>
        )}
        <CliButton model={model} connection={conn} />
        {actions.cancel && (
          <button
            className="jp-mod-styled"
            disabled={model.isBusy(`cancel:${conn.name}`)}
            onClick={() => void model.cancelLogin(conn.name)}
          >
            Cancel sign-in
          </button>
        )}
        {actions.logout && (
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

/** Which of Log in / Log out / Cancel a card offers: one obvious next step per state. */
export function actionsOf(
  conn: IConnection,
  kind: StatusKind
): { login: boolean; logout: boolean; cancel: boolean } {
  if (conn.method !== 'u2m') {
    return { login: false, logout: false, cancel: false };
  }
  if (kind === 'pending') {
    // A sign-in window is open: the one thing to do here is give it up. A notebook waiting for
    // a sign-in nobody started yet needs the Log in button (and can be given up too).
    const waiting = conn.reason === 'kernel_waiting';
    return { login: waiting, logout: false, cancel: true };
  }
  const signedIn = kind === 'ok' || kind === 'warning' || kind === 'refreshing';
  return { login: !signedIn, logout: signedIn || kind === 'error', cancel: false };
}

const CREDENTIALS: Record<string, string> = {
  profile: 'Secret from the profile in the Databricks config file',
  environment: 'Secret from the environment (DATABRICKS_CLIENT_SECRET)',
  config: 'Secret from jupyter_server_config.py',
  stored: 'Secret stored on this server (encrypted)',
  missing: 'No secret yet: add it below'
};

/** A service-principal connection: where its secret comes from. */
function CredentialsLine(props: { connection: IConnection }): JSX.Element | null {
  const { connection: conn } = props;
  if (!conn.credentials) {
    return null;
  }
  const profile = conn.source.startsWith('profile:') ? conn.source.slice(8) : '';
  let text = CREDENTIALS[conn.credentials] ?? `Secret: ${conn.credentials}`;
  if (conn.credentials === 'profile' && profile) {
    text = `Secret from the profile [${profile}] in the Databricks config file`;
  }
  return (
    <div className="jp-DbxAuth-credentials" data-credentials={conn.credentials}>
      {text}
      {conn.client_id && (
        <>
          {' · client id '}
          <code>{conn.client_id}</code>
        </>
      )}
    </div>
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
