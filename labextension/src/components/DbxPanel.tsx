/** The "Databricks" sidebar: notices, every connection, and the connections that failed. */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { DbxAuthModel } from '../model/model';
import { databricksIcon } from '../icons';
import { ConnectionCard, ProblemCard } from './ConnectionCard';
import { useModel, useNow } from './hooks';
import { withCode } from './text';

export interface IPanelProps {
  model: DbxAuthModel;
  onInsert: (name: string) => void;
}

function Notice(props: { model: DbxAuthModel }): JSX.Element | null {
  const notice = props.model.notice;
  if (!notice) {
    return null;
  }
  return (
    <div
      className={`jp-DbxAuth-notice jp-DbxAuth-notice-${notice.kind}`}
      role={notice.kind === 'error' ? 'alert' : 'status'}
    >
      <div className="jp-DbxAuth-noticeText">{notice.message}</div>
      {notice.hint && <div className="jp-DbxAuth-hint">{withCode(notice.hint)}</div>}
      <button
        className="jp-DbxAuth-dismiss"
        aria-label="Dismiss"
        onClick={() => props.model.setNotice(null)}
      >
        ×
      </button>
    </div>
  );
}

/** A store warning's first sentence (the rest is on hover): the panel is about connections. */
export function firstSentence(text: string): string {
  const end = text.search(/[.:;](\s|$)/);
  return end > 0 ? text.slice(0, end + 1) : text;
}

export function Panel(props: IPanelProps): JSX.Element {
  const { model, onInsert } = props;
  const state = useModel(model);
  const now = useNow(1000);
  const empty = state.loaded && state.connections.length + state.problems.length === 0;
  return (
    <div className="jp-DbxAuth-panelBody">
      <header className="jp-DbxAuth-header">
        <h2>Databricks</h2>
        <button
          className="jp-DbxAuth-refresh jp-mod-styled"
          title="Ask the server for the status again"
          onClick={() => void model.refresh(true)}
        >
          Refresh
        </button>
      </header>
      <Notice model={model} />
      {state.store?.warnings.map(w => (
        <div
          key={w}
          className="jp-DbxAuth-storeWarning"
          role="note"
          title={w}
          aria-label={w}
        >
          ⚠ {firstSentence(w)}
        </div>
      ))}
      {!state.loaded && <div className="jp-DbxAuth-loading">Loading connections…</div>}
      {empty && (
        <div className="jp-DbxAuth-empty">
          No connections. Add a profile to ~/.databrickscfg or set c.DatabricksAuth.connections in
          jupyter_server_config.py, then press Refresh.
        </div>
      )}
      <ul className="jp-DbxAuth-connections">
        {state.connections.map(conn => (
          <ConnectionCard
            key={conn.name}
            model={model}
            connection={conn}
            now={now}
            onInsert={onInsert}
          />
        ))}
        {state.problems.map(problem => (
          <ProblemCard key={`problem:${problem.name}`} problem={problem} />
        ))}
      </ul>
      {state.loaded && (
        <footer className="jp-DbxAuth-footer">
          {model.streamLive ? 'Live' : 'Polling'} · tokens and secrets stay on the Jupyter server
        </footer>
      )}
    </div>
  );
}

/** The sidebar widget. */
export class DbxPanel extends ReactWidget {
  constructor(private readonly _props: IPanelProps) {
    super();
    this.id = 'jp-dbx-auth-panel';
    this.addClass('jp-DbxAuth-panel');
    this.title.icon = databricksIcon;
    this.title.caption = 'Databricks';
  }

  render(): JSX.Element {
    return <Panel {...this._props} />;
  }
}
