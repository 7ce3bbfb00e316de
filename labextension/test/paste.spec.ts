import { cleanConnection, cleanSignIn } from '../src/model/events';
import {
  canSubmitPaste,
  cleanPasted,
  DEFAULT_PASTE_PREFIX,
  endsByPaste,
  pasteInstruction,
  pasteOffer,
  signInOf
} from '../src/model/paste';
import { ISignIn } from '../src/model/types';
import { conn } from './fixtures';

const PASTE: ISignIn = {
  finish: 'paste',
  paste_prefix: 'http://localhost:8020/?',
  message: null
};
const HANDOFF: ISignIn = { ...PASTE, finish: 'handoff' };
const pending = (signIn: ISignIn | null) => conn({ status: 'login_pending', sign_in: signIn });

describe('pasteOffer', () => {
  it('shows the field when the sign-in ends by a paste', () => {
    expect(pasteOffer(pending(PASTE), null, false)).toEqual({
      mode: 'open',
      instruction:
        'After signing in, your browser ends on a page that cannot open ' +
        "(http://localhost:8020/?code=…). Copy that page's whole address and paste it here.",
      placeholder: 'http://localhost:8020/?code=…&state=…'
    });
  });

  it("uses the server's words when it sent some (e.g. port 8020 busy)", () => {
    const busy = { ...PASTE, message: 'Port 8020 is in use: finish by pasting the address.' };
    expect(pasteOffer(pending(busy), null, false)?.instruction).toBe(busy.message);
  });

  it('keeps the field behind a link for a handed-on sign-in until it is opened', () => {
    expect(pasteOffer(pending(HANDOFF), null, false)?.mode).toBe('collapsed');
    expect(pasteOffer(pending(HANDOFF), null, true)?.mode).toBe('open');
  });

  it('shows nothing for a callback sign-in, a finished one, or another method', () => {
    const callback = { finish: 'callback', paste_prefix: null, message: null };
    expect(pasteOffer(pending(callback), null, true)).toBeNull();
    expect(pasteOffer(conn({ status: 'ok', sign_in: PASTE }), PASTE, true)).toBeNull();
    expect(pasteOffer({ ...pending(PASTE), method: 'm2m' }, null, true)).toBeNull();
    expect(pasteOffer(pending(null), null, true)).toBeNull();
    expect(pasteOffer(pending({ ...PASTE, finish: 'carrier-pigeon' }), null, true)).toBeNull();
  });

  it("prefers the status's sign_in to the login reply, and falls back to the reply", () => {
    expect(signInOf(pending(HANDOFF), PASTE)).toBe(HANDOFF);
    expect(signInOf(pending(null), PASTE)).toBe(PASTE);
    expect(signInOf(conn({ status: 'logged_out' }), PASTE)).toBeNull();
    expect(endsByPaste(signInOf(pending(null), PASTE))).toBe(true);
    expect(endsByPaste(HANDOFF)).toBe(false);
    expect(endsByPaste(null)).toBe(false);
  });

  it('names the default address when the server sent no prefix', () => {
    expect(pasteInstruction(null)).toContain(`(${DEFAULT_PASTE_PREFIX}code=…)`);
  });
});

describe('the pasted text', () => {
  it('is sent without surrounding blanks, and only when there is some', () => {
    expect(cleanPasted('\n http://localhost:8020/?code=a&state=b \t')).toBe(
      'http://localhost:8020/?code=a&state=b'
    );
    expect(canSubmitPaste('  \n')).toBe(false);
    expect(canSubmitPaste('x')).toBe(true);
  });
});

describe('sign_in in a status', () => {
  it('is kept when it has the shape the server sends, and dropped otherwise', () => {
    expect(cleanSignIn({ ...PASTE, message: 'm', extra: 1 })).toEqual({ ...PASTE, message: 'm' });
    expect(cleanSignIn({ finish: 'paste' })).toEqual({
      finish: 'paste',
      paste_prefix: null,
      message: null
    });
    expect(cleanSignIn(null)).toBeNull();
    expect(cleanSignIn('paste')).toBeNull();
    expect(cleanSignIn({ paste_prefix: 'x' })).toBeNull();
    const raw = { ...pending(PASTE), type: 'status' };
    expect(cleanConnection(raw).sign_in).toEqual(PASTE);
    expect(cleanConnection({ ...raw, sign_in: undefined } as never).sign_in).toBeNull();
  });
});
