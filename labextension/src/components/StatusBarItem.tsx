/** The status bar item: the worst status over all connections and the shortest countdown. */
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { databricksIcon } from '../icons';
import { DbxAuthModel } from '../model/model';
import { summarize } from '../model/status';
import { useModel, useNow } from './hooks';

export function StatusText(props: { model: DbxAuthModel; onClick: () => void }): JSX.Element {
  const state = useModel(props.model);
  const now = useNow(1000);
  const summary = summarize(state.connections, state.problems, now);
  return (
    <div
      className={`jp-DbxAuth-statusItem jp-DbxAuth-kind-${summary.kind ?? 'none'}`}
      title={`${summary.text}. Click to open the Databricks panel.`}
      onClick={props.onClick}
    >
      <databricksIcon.react tag="span" className="jp-DbxAuth-statusIcon" />
      <span>{state.loaded ? summary.text.replace(/^Databricks: /, '') : '…'}</span>
    </div>
  );
}

export class DbxStatusItem extends ReactWidget {
  constructor(private readonly _props: { model: DbxAuthModel; onClick: () => void }) {
    super();
    this.addClass('jp-DbxAuth-statusWidget');
  }

  render(): JSX.Element {
    return <StatusText {...this._props} />;
  }
}
