/** A status line: a coloured dot, the text, and the server's hint on what to do next. */
import * as React from 'react';

import { IStatusLine } from '../model/status';

export function StatusLine(props: { line: IStatusLine }): JSX.Element {
  const { line } = props;
  return (
    <div className={`jp-DbxAuth-status jp-DbxAuth-kind-${line.kind}`} data-kind={line.kind}>
      <span className="jp-DbxAuth-dot" aria-hidden="true" />
      <span className="jp-DbxAuth-statusText">{line.text}</span>
      {line.hint && <div className="jp-DbxAuth-hint">{line.hint}</div>}
    </div>
  );
}
