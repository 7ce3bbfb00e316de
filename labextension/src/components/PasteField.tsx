/**
 * A pending sign-in that ends on an address the browser cannot open: one sentence of what to do,
 * the field for that address, and "Finish sign-in". What shows comes from the model
 * (`pasteOffer`, `pasteError`); the text stays in the form, so a refused address can be fixed in
 * place, and goes with it when the sign-in ends (the next one starts empty).
 */
import * as React from 'react';

import { DbxAuthModel } from '../model/model';
import { canSubmitPaste, IPasteOffer, PASTE_LINK_TEXT } from '../model/paste';

export const PASTE_INPUT_LABEL = 'Address the sign-in ended on';
export const PASTE_BUTTON_TEXT = 'Finish sign-in';

export function PasteField(props: { model: DbxAuthModel; name: string }): JSX.Element | null {
  const { model, name } = props;
  const offer = model.pasteOffer(name);
  if (!offer) {
    return null;
  }
  if (offer.mode === 'collapsed') {
    return (
      <div className="jp-DbxAuth-paste jp-mod-collapsed" data-connection={name}>
        <button
          type="button"
          className="jp-DbxAuth-pasteLink"
          onClick={() => model.openPaste(name)}
        >
          {PASTE_LINK_TEXT}
        </button>
      </div>
    );
  }
  return <PasteForm model={model} name={name} offer={offer} />;
}

function PasteForm(props: {
  model: DbxAuthModel;
  name: string;
  offer: IPasteOffer;
}): JSX.Element {
  const { model, name, offer } = props;
  const [text, setText] = React.useState('');
  const id = React.useId();
  const busy = model.isBusy(`paste:${name}`);
  const error = model.pasteError(name);
  const onSubmit = (event: React.FormEvent): void => {
    event.preventDefault();
    if (canSubmitPaste(text) && !busy) {
      void model.finishSignIn(name, text);
    }
  };
  return (
    <form className="jp-DbxAuth-paste" data-connection={name} onSubmit={onSubmit}>
      <p className="jp-DbxAuth-pasteInstruction" id={`${id}-how`}>
        {offer.instruction}
      </p>
      <div className="jp-DbxAuth-pasteRow">
        <input
          className="jp-mod-styled jp-DbxAuth-pasteInput"
          type="text"
          aria-label={PASTE_INPUT_LABEL}
          aria-describedby={error ? `${id}-how ${id}-error` : `${id}-how`}
          aria-invalid={error ? true : undefined}
          placeholder={offer.placeholder}
          autoComplete="off"
          spellCheck={false}
          value={text}
          onChange={event => setText(event.target.value)}
        />
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept jp-DbxAuth-pasteSubmit"
          disabled={busy || !canSubmitPaste(text)}
        >
          {PASTE_BUTTON_TEXT}
        </button>
      </div>
      {error && (
        <div className="jp-DbxAuth-pasteError" id={`${id}-error`} role="alert">
          <div className="jp-DbxAuth-pasteErrorMessage">{error.message}</div>
          {error.hint && <div className="jp-DbxAuth-pasteErrorHint">{error.hint}</div>}
        </div>
      )}
    </form>
  );
}
