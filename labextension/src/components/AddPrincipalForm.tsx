/**
 * Add a service principal. The secret input is uncontrolled: its value lives only in the DOM
 * input until Save, is read once into the request and the input is cleared at once, before the
 * server answers. It is never in React state, the model, or storage, and never shown again.
 */
import * as React from 'react';
import { useRef, useState } from 'react';

import { DbxAuthModel } from '../model/model';
import { validateNew } from '../model/principals';

export interface IAddPrincipalProps {
  model: DbxAuthModel;
  connection: string;
  /** The connection's own service principal: its client id, fixed. */
  clientId?: string;
  /** Called after a successful save, and on Cancel. */
  onDone: () => void;
}

export function AddPrincipalForm(props: IAddPrincipalProps): JSX.Element {
  const { model, connection, onDone } = props;
  const fixedId = props.clientId || null;
  const [clientId, setClientId] = useState(fixedId ?? '');
  const [label, setLabel] = useState('');
  const [expires, setExpires] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const secretRef = useRef<HTMLInputElement>(null);
  const busy = model.isBusy(`add-sp:${connection}`);

  const onSubmit = async (event: React.FormEvent): Promise<void> => {
    event.preventDefault();
    const input = secretRef.current;
    const invalid = validateNew(clientId, input?.value.length ?? 0, expires);
    setProblem(invalid);
    if (invalid || !input) {
      return;
    }
    const secret = input.value;
    input.value = '';
    const saved = await model.addServicePrincipal(
      { connection, client_id: clientId, label, expires_at: expires },
      secret
    );
    if (saved) {
      onDone();
    }
  };

  return (
    <form
      className="jp-DbxAuth-spForm"
      aria-label={`Add a service principal to ${connection}`}
      onSubmit={event => void onSubmit(event)}
      autoComplete="off"
    >
      <label>
        Client id
        <input
          className="jp-mod-styled"
          name="client_id"
          value={clientId}
          readOnly={fixedId !== null}
          onChange={e => setClientId(e.target.value)}
          placeholder="application id"
          spellCheck={false}
        />
      </label>
      <label>
        Label
        <input
          className="jp-mod-styled"
          name="label"
          value={label}
          onChange={e => setLabel(e.target.value)}
          placeholder="optional, e.g. nightly"
        />
      </label>
      <label>
        Secret
        <input
          className="jp-mod-styled"
          name="client_secret"
          type="password"
          ref={secretRef}
          autoComplete="new-password"
          placeholder="stored on the server, never shown again"
        />
      </label>
      <label>
        Secret expires
        <input
          className="jp-mod-styled"
          name="expires_at"
          type="date"
          value={expires}
          onChange={e => setExpires(e.target.value)}
        />
      </label>
      {problem && <div className="jp-DbxAuth-formError">{problem}</div>}
      <div className="jp-DbxAuth-formButtons">
        <button type="submit" className="jp-mod-styled jp-mod-accept" disabled={busy}>
          {busy ? 'Testing and saving…' : 'Save service principal'}
        </button>
        <button type="button" className="jp-mod-styled" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
