/**
 * The paste field of a pending sign-in. With the public `databricks-cli` app, Databricks sends the
 * browser to `http://localhost:8020/?code=…&state=…`. When nothing on the browser's machine answers
 * there (Jupyter on a remote machine, in Docker, on Binder; or port 8020 busy), the page does not
 * open, and the person finishes the sign-in by pasting that address into the panel.
 * Pure functions: what the card shows, from the connection and the login reply.
 */
import { IConnection, ISignIn } from './types';

/** Where the public app's sign-in ends (`redirect_uri=http://localhost:8020`). */
export const DEFAULT_PASTE_PREFIX = 'http://localhost:8020/?';

/** The link that opens the field when the server expects to hand the browser on itself. */
export const PASTE_LINK_TEXT = 'Browser on another machine? Paste the address';

export interface IPasteOffer {
  /** `open`: the field shows. `collapsed`: only the link that opens it (the handoff fallback). */
  mode: 'open' | 'collapsed';
  /** What to do, in words: the server's message when it sent one, else one sentence of ours. */
  instruction: string;
  /** The input's placeholder: how the address starts. */
  placeholder: string;
}

/**
 * How the pending sign-in of `conn` ends: its status's `sign_in`, else what the login reply said
 * (`started`; the status event may come after the reply, or from an older server without it).
 */
export function signInOf(conn: IConnection, started: ISignIn | null): ISignIn | null {
  if (conn.status !== 'login_pending') {
    return null;
  }
  return conn.sign_in ?? started;
}

/** True when a closed sign-in window says nothing: the address is pasted here, maybe later. */
export function endsByPaste(signIn: ISignIn | null): boolean {
  return signIn?.finish === 'paste';
}

/** The one sentence that says what to paste. */
export function pasteInstruction(prefix: string | null): string {
  const start = prefix || DEFAULT_PASTE_PREFIX;
  return (
    `After signing in, your browser ends on a page that cannot open (${start}code=…). ` +
    "Copy that page's whole address and paste it here."
  );
}

/**
 * What the card shows for `conn`: the field (`paste`), the link to it (`handoff`, or the field once
 * `expanded`), or nothing (`callback`, not pending, not a user sign-in).
 */
export function pasteOffer(
  conn: IConnection,
  started: ISignIn | null,
  expanded: boolean
): IPasteOffer | null {
  const signIn = signInOf(conn, started);
  if (conn.method !== 'u2m' || !signIn) {
    return null;
  }
  let mode: IPasteOffer['mode'];
  if (signIn.finish === 'paste') {
    mode = 'open';
  } else if (signIn.finish === 'handoff') {
    mode = expanded ? 'open' : 'collapsed';
  } else {
    return null;
  }
  // The server's message already is the instruction (and says why, when port 8020 is busy):
  // adding ours as well would say the same thing twice.
  return {
    mode,
    instruction: signIn.message || pasteInstruction(signIn.paste_prefix),
    placeholder: `${signIn.paste_prefix || DEFAULT_PASTE_PREFIX}code=…&state=…`
  };
}

/** The pasted text as sent: surrounding blanks (a copy often brings a newline) dropped. */
export function cleanPasted(text: string): string {
  return text.trim();
}

/** The button is enabled once there is something to send. */
export function canSubmitPaste(text: string): boolean {
  return cleanPasted(text).length > 0;
}
