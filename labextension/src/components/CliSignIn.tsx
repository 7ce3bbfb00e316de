/**
 * "Use my Databricks CLI sign-in" on a user connection's card: the button (in the card's actions),
 * and above them the confirm step with the server's note (what it means for the CLI) and the last
 * error. What shows comes from the model (`model.cli`); the status line says whether it worked.
 */
import * as React from 'react';

import { CLI_BUSY_TEXT, CLI_BUTTON_TEXT, CLI_CONFIRM_TEXT, sourceText } from '../model/cli';
import { DbxAuthModel } from '../model/model';
import { IConnection } from '../model/types';
import { withCode } from './text';

export interface ICliProps {
  model: DbxAuthModel;
  connection: IConnection;
}

/** The button, in the card's actions, when the CLI holds a sign-in for this host. */
export function CliButton(props: ICliProps): JSX.Element | null {
  const { model, connection: conn } = props;
  const offer = model.cli.offer(conn);
  if (!offer || offer.step !== 'idle') {
    return null;
  }
  return (
    <button
      className="jp-mod-styled jp-DbxAuth-cliButton"
      title={`Your \`databricks auth login\`, found in ${sourceText(offer.source, conn)}`}
      onClick={() => model.cli.start(conn.name)}
    >
      {CLI_BUTTON_TEXT}
    </button>
  );
}

/** The confirm step (question, note, Confirm / Cancel) and the last error. */
export function CliSignIn(props: ICliProps): JSX.Element | null {
  const { model, connection: conn } = props;
  const offer = model.cli.offer(conn);
  const error = model.cli.error(conn.name);
  const id = React.useId();
  const asking = offer && offer.step !== 'idle';
  if (!asking && !error) {
    return null;
  }
  const busy = offer?.step === 'busy';
  return (
    <div
      className={`jp-DbxAuth-cli${error && !asking ? ' jp-mod-error' : ''}`}
      data-connection={conn.name}
    >
      {asking && (
        <div
          className="jp-DbxAuth-cliConfirm"
          role="group"
          aria-label={CLI_BUTTON_TEXT}
          aria-describedby={`${id}-note`}
          data-replaces={offer.replaces}
        >
          <p className="jp-DbxAuth-cliQuestion">{offer.question}</p>
          <p className="jp-DbxAuth-cliNote" id={`${id}-note`}>
            {withCode(offer.note)}
          </p>
          <div className="jp-DbxAuth-cliRow">
            <button
              className="jp-mod-styled jp-mod-accept"
              disabled={busy}
              onClick={() => void model.cli.confirm(conn)}
            >
              {busy ? CLI_BUSY_TEXT : CLI_CONFIRM_TEXT}
            </button>
            <button
              className="jp-mod-styled"
              disabled={busy}
              onClick={() => model.cli.cancel(conn.name)}
            >
              Cancel
            </button>
          </div>
        </div>
      )}
      {error && (
        <div className="jp-DbxAuth-cliError" role="alert">
          <div className="jp-DbxAuth-cliErrorTitle">
            Could not use your Databricks CLI sign-in for {conn.name}.
          </div>
          <div className="jp-DbxAuth-cliErrorMessage">{error.message}</div>
          {error.hint && <div className="jp-DbxAuth-cliErrorHint">{withCode(error.hint)}</div>}
          <button
            className="jp-DbxAuth-dismiss"
            aria-label="Dismiss"
            onClick={() => model.cli.dismissError(conn.name)}
          >
            ×
          </button>
        </div>
      )}
    </div>
  );
}
