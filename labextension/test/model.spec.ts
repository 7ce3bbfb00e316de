import { DbxAuthModel, IDbxApi, LOGIN_MESSAGE } from '../src/model/model';
import {
  IConnectionsPayload,
  INewServicePrincipal,
  IServicePrincipal,
  ISignIn
} from '../src/model/types';
import { conn } from './fixtures';

class FakeApi implements IDbxApi {
  calls: string[] = [];
  payload: IConnectionsPayload = {
    connections: [conn({ name: 'ws' })],
    problems: [],
    store: { backend: 'memory', warnings: [] }
  };
  sps: IServicePrincipal[] = [];
  fail: Error | null = null;
  secrets: string[] = [];
  /** How the next sign-in ends, as the login reply says (nothing: an older server). */
  signIn: Partial<ISignIn> = {};
  pasted: string[] = [];

  private async maybeFail(): Promise<void> {
    if (this.fail) {
      throw this.fail;
    }
  }
  async connections() {
    this.calls.push('connections');
    await this.maybeFail();
    return this.payload;
  }
  async login(name: string) {
    this.calls.push(`login:${name}`);
    await this.maybeFail();
    return {
      authorize_url: `https://idp/authorize?c=${name}`,
      login_url: '/x',
      expires_at: 1,
      ...this.signIn
    };
  }
  /** As the server: the address must answer this sign-in (state `s1`), once. */
  async finishSignIn(name: string, address: string) {
    this.calls.push(`paste:${name}`);
    this.pasted.push(address);
    await this.maybeFail();
    if (!address.startsWith('http://localhost:8020/?')) {
      throw Object.assign(new Error('The pasted text is not the address the sign-in ended on.'), {
        hint: 'Copy the whole address starting with http://localhost:8020/?'
      });
    }
    if (!address.includes('state=s1') || this.pasted.filter(a => a === address).length > 1) {
      throw Object.assign(new Error('This sign-in is not pending any more.'), {
        hint: 'Press Log in again.'
      });
    }
    return conn({ name, status: 'ok', identity: 'ada@example.com' });
  }
  async logout(name: string) {
    this.calls.push(`logout:${name}`);
    await this.maybeFail();
    return conn({ name, status: 'logged_out' });
  }
  async cancelLogin(name: string) {
    this.calls.push(`cancel:${name}`);
    await this.maybeFail();
    return conn({ name, status: 'logged_out', reason: 'cancelled' });
  }
  async servicePrincipals() {
    this.calls.push('sps');
    await this.maybeFail();
    return this.sps;
  }
  async addServicePrincipal(sp: INewServicePrincipal, secret: string) {
    this.calls.push(`add:${sp.client_id}`);
    this.secrets.push(secret);
    await this.maybeFail();
    const saved = { ...sp, expires_at: null, warning: null, has_secret: true };
    this.sps = [...this.sps, saved];
    return saved;
  }
  async deleteServicePrincipal(connection: string, clientId: string) {
    this.calls.push(`delete:${connection}/${clientId}`);
    await this.maybeFail();
    this.sps = this.sps.filter(s => s.client_id !== clientId);
  }
  /** No Databricks CLI sign-in anywhere (test/cli.spec.ts tests that offer). */
  cliAsked: string[] = [];
  async cliLogin(name: string) {
    this.cliAsked.push(name);
    return { connection: name, available: false, source: null, note: '' };
  }
  async useCliLogin(name: string): Promise<never> {
    throw new Error(`no CLI sign-in for ${name}`);
  }
  eventsUrl() {
    return '/dbx-auth/api/events';
  }
}

function fakeWindow() {
  return { closed: false, location: { href: 'about:blank' }, close: jest.fn() };
}

// Models watch sign-in windows with timers: dispose every one a test made.
const made: DbxAuthModel[] = [];
afterEach(() => made.splice(0).forEach(m => m.dispose()));

function setup() {
  const api = new FakeApi();
  const opened: string[] = [];
  const popup = fakeWindow();
  const model = new DbxAuthModel({
    api,
    live: false,
    windowPollMs: 10,
    windowGraceMs: 30,
    openWindow: url => {
      opened.push(url);
      return popup as unknown as Window;
    }
  });
  made.push(model);
  return { api, model, opened, popup };
}

describe('DbxAuthModel', () => {
  it('lists connections and service principals on refresh', async () => {
    const { api, model } = setup();
    let changes = 0;
    model.changed.connect(() => changes++);
    await model.refresh();
    expect(model.state.loaded).toBe(true);
    expect(model.state.connections.map(c => c.name)).toEqual(['ws']);
    expect(api.calls.sort()).toEqual(['connections', 'sps']);
    expect(changes).toBeGreaterThan(0);
  });

  it('opens the window before asking the server, then sends it to the authorize URL', async () => {
    const { api, model, opened, popup } = setup();
    const done = model.login('ws');
    expect(opened).toEqual(['about:blank']);
    expect(model.isBusy('login:ws')).toBe(true);
    await done;
    expect(api.calls).toEqual(['login:ws']);
    expect(popup.location.href).toBe('https://idp/authorize?c=ws');
    expect(model.isBusy('login:ws')).toBe(false);
  });

  it('closes the window and shows the server error when the login fails', async () => {
    const { api, model, popup } = setup();
    api.fail = Object.assign(new Error('Unknown connection.'), { hint: 'Add it.' });
    await model.login('nope');
    expect(popup.close).toHaveBeenCalled();
    expect(model.notice).toEqual({ kind: 'error', message: 'Unknown connection.', hint: 'Add it.' });
  });

  it('cancels a sign-in whose window was closed while it was still pending', async () => {
    const { api, model, popup } = setup();
    await model.refresh();
    await model.login('ws');
    model.dispatch({ type: 'status', connection: conn({ name: 'ws', status: 'login_pending' }) });
    await new Promise(r => setTimeout(r, 50));
    expect(api.calls).not.toContain('cancel:ws'); // the window is still open
    popup.closed = true;
    await new Promise(r => setTimeout(r, 100));
    expect(api.calls).toContain('cancel:ws');
    expect(model.state.connections[0].reason).toBe('cancelled');
    model.dispose();
  });

  it('closes the sign-in window when Cancel is pressed in the panel', async () => {
    const { api, model, popup } = setup();
    await model.login('ws');
    await model.cancelLogin('ws');
    expect(popup.close).toHaveBeenCalled();
    expect(api.calls).toEqual(['login:ws', 'cancel:ws']);
    model.dispose();
  });

  it('does not cancel a sign-in that completed and closed its own window', async () => {
    const { api, model, popup } = setup();
    await model.refresh();
    await model.login('ws');
    model.dispatch({ type: 'status', connection: conn({ name: 'ws', status: 'login_pending' }) });
    popup.closed = true;
    model.dispatch({ type: 'status', connection: conn({ name: 'ws', status: 'ok' }) });
    await new Promise(r => setTimeout(r, 100));
    expect(api.calls).not.toContain('cancel:ws');
    model.dispose();
  });

  it('says so when the browser blocks the window', async () => {
    const api = new FakeApi();
    const model = new DbxAuthModel({ api, live: false, openWindow: () => null });
    await model.login('ws');
    expect(model.notice?.message).toMatch(/blocked/);
  });

  it('updates the connection on logout', async () => {
    const { model } = setup();
    await model.refresh();
    model.dispatch({ type: 'status', connection: conn({ name: 'ws', status: 'ok' }) });
    await model.logout('ws');
    expect(model.state.connections[0].status).toBe('logged_out');
    expect(model.notice?.kind).toBe('info');
  });

  it('passes the secret through once and keeps only public fields', async () => {
    const { api, model } = setup();
    const ok = await model.addServicePrincipal(
      { connection: 'ws', client_id: 'cid', label: 'n', expires_at: '' },
      's3cret-canary'
    );
    expect(ok).toBe(true);
    expect(api.secrets).toEqual(['s3cret-canary']);
    expect(JSON.stringify(model.state)).not.toContain('s3cret-canary');
    expect(JSON.stringify(model.notice)).not.toContain('s3cret-canary');
    expect(model.state.servicePrincipals.map(s => s.client_id)).toEqual(['cid']);
    await model.deleteServicePrincipal('ws', 'cid');
    expect(model.state.servicePrincipals).toEqual([]);
  });

  it('reports a rejected secret in words', async () => {
    const { api, model } = setup();
    api.fail = Object.assign(new Error('The secret was refused.'), { hint: 'Create a new one.' });
    const ok = await model.addServicePrincipal(
      { connection: 'ws', client_id: 'cid', label: '', expires_at: '' },
      'x'
    );
    expect(ok).toBe(false);
    expect(model.notice?.message).toBe('The secret was refused.');
  });

  it('refreshes when the callback page reports a login, and ignores other messages', async () => {
    const { api, model } = setup();
    model.handleLoginMessage({ type: 'other' });
    model.handleLoginMessage(null);
    expect(api.calls).toEqual([]);
    model.handleLoginMessage({ type: LOGIN_MESSAGE, connection: 'ws', status: 'ok' });
    expect(model.notice?.message).toBe('Signed in to ws.');
    await Promise.resolve();
    expect(api.calls).toContain('connections');
  });

  it('shows a failed refresh and clears it when the server answers again', async () => {
    const { api, model } = setup();
    api.fail = new Error('Could not reach the Jupyter server (Failed to fetch).');
    await model.refresh();
    expect(model.notice?.kind).toBe('error');
    api.fail = null;
    await model.refresh();
    expect(model.notice).toBeNull();
  });

  it('stops its timer on dispose', () => {
    jest.useFakeTimers();
    const { api, model } = setup();
    model.setRefreshInterval(5);
    jest.advanceTimersByTime(5000);
    expect(api.calls).toContain('connections');
    model.dispose();
    api.calls = [];
    jest.advanceTimersByTime(20000);
    expect(api.calls).toEqual([]);
    expect(model.isDisposed).toBe(true);
    jest.useRealTimers();
  });
});

describe('DbxAuthModel: a sign-in finished by a pasted address', () => {
  const ADDRESS = 'http://localhost:8020/?code=c1&state=s1';
  const PASTE: ISignIn = {
    finish: 'paste',
    paste_prefix: 'http://localhost:8020/?',
    message: 'When the sign-in ends on a page that does not open, paste its address here.'
  };
  const pending = (signIn: ISignIn | null = null) =>
    conn({ name: 'ws', status: 'login_pending', sign_in: signIn });
  const wait = (ms: number) => new Promise(r => setTimeout(r, ms));

  it('shows the field, survives a closed window, and signs in with the pasted address', async () => {
    const { api, model, popup } = setup();
    api.signIn = PASTE;
    await model.refresh();
    await model.login('ws');
    // The status event may be slower than the login reply: the reply alone shows the field.
    model.dispatch({ type: 'status', connection: pending() });
    expect(model.pasteOffer('ws')).toEqual({
      mode: 'open',
      instruction: PASTE.message,
      placeholder: 'http://localhost:8020/?code=…&state=…'
    });
    popup.closed = true; // closed after copying the address, before pasting it
    await wait(100);
    expect(api.calls).not.toContain('cancel:ws');
    expect(model.state.connections[0].status).toBe('login_pending');

    const ok = await model.finishSignIn('ws', `  ${ADDRESS}\n`);
    expect(ok).toBe(true);
    expect(api.pasted).toEqual([ADDRESS]); // sent without the blanks a copy brings
    expect(model.state.connections[0].status).toBe('ok');
    expect(model.state.connections[0].identity).toBe('ada@example.com');
    expect(model.pasteOffer('ws')).toBeNull();
    expect(model.notice?.message).toBe('Signed in to ws.');
  });

  it('closes the window that shows the page that could not open once the paste succeeds', async () => {
    const { api, model, popup } = setup();
    api.signIn = PASTE;
    await model.refresh();
    await model.login('ws');
    model.dispatch({ type: 'status', connection: pending(PASTE) });
    await model.finishSignIn('ws', ADDRESS);
    expect(popup.close).toHaveBeenCalled();
  });

  it('shows a refused address under the field and keeps the sign-in pending', async () => {
    const { api, model } = setup();
    await model.refresh();
    model.dispatch({ type: 'status', connection: pending(PASTE) });
    const ok = await model.finishSignIn('ws', 'http://localhost:8888/lab');
    expect(ok).toBe(false);
    expect(model.pasteError('ws')).toEqual({
      kind: 'error',
      message: 'The pasted text is not the address the sign-in ended on.',
      hint: 'Copy the whole address starting with http://localhost:8020/?'
    });
    expect(model.notice).toBeNull(); // under the field, not above the connections
    expect(model.state.connections[0].status).toBe('login_pending');
    expect(model.pasteOffer('ws')?.mode).toBe('open');
    expect(model.isBusy('paste:ws')).toBe(false);

    // Fixed: the error goes, the sign-in completes.
    expect(await model.finishSignIn('ws', ADDRESS)).toBe(true);
    expect(model.pasteError('ws')).toBeNull();
    expect(api.calls.filter(c => c === 'paste:ws')).toHaveLength(2);
  });

  it('says so when the same address is pasted twice (the server takes a state once)', async () => {
    const { model } = setup();
    await model.refresh();
    model.dispatch({ type: 'status', connection: pending(PASTE) });
    expect(await model.finishSignIn('ws', ADDRESS)).toBe(true);
    model.dispatch({ type: 'status', connection: pending(PASTE) });
    expect(await model.finishSignIn('ws', ADDRESS)).toBe(false);
    expect(model.pasteError('ws')?.hint).toBe('Press Log in again.');
  });

  it('shows the field after a reload, from the status alone', async () => {
    const { api, model } = setup();
    api.payload = { ...api.payload, connections: [pending(PASTE)] };
    await model.refresh();
    expect(model.pasteOffer('ws')?.mode).toBe('open');
    expect(model.pasteOffer('nope')).toBeNull();
  });

  it('offers the field behind a link when the server hands the browser on itself', async () => {
    const { api, model, popup } = setup();
    const handoff: ISignIn = { finish: 'handoff', paste_prefix: PASTE.paste_prefix, message: null };
    api.signIn = handoff;
    await model.refresh();
    await model.login('ws');
    model.dispatch({ type: 'status', connection: pending(handoff) });
    expect(model.pasteOffer('ws')?.mode).toBe('collapsed');
    model.openPaste('ws');
    const offer = model.pasteOffer('ws');
    expect(offer?.mode).toBe('open');
    expect(offer?.instruction).toContain('http://localhost:8020/?code=…');
    // The person is pasting: closing the window does not give the sign-in up.
    popup.closed = true;
    await wait(100);
    expect(api.calls).not.toContain('cancel:ws');
  });

  it('still cancels a handed-on sign-in whose window was closed with the field unopened', async () => {
    const { api, model, popup } = setup();
    api.signIn = { finish: 'handoff', paste_prefix: PASTE.paste_prefix, message: null };
    await model.refresh();
    await model.login('ws');
    model.dispatch({ type: 'status', connection: pending() });
    popup.closed = true;
    await wait(100);
    expect(api.calls).toContain('cancel:ws');
    expect(model.state.connections[0].status).toBe('logged_out');
  });

  it('shows no field for a sign-in that comes back to this Jupyter', async () => {
    const { api, model } = setup();
    api.signIn = { finish: 'callback', paste_prefix: null, message: null };
    await model.refresh();
    await model.login('ws');
    model.dispatch({ type: 'status', connection: pending() });
    expect(model.pasteOffer('ws')).toBeNull();
  });

  it('forgets the field, its error and the opened link once the sign-in ends elsewhere', async () => {
    const { api, model } = setup();
    api.signIn = { finish: 'handoff', paste_prefix: PASTE.paste_prefix, message: null };
    await model.refresh();
    await model.login('ws');
    model.dispatch({ type: 'status', connection: pending() });
    model.openPaste('ws');
    await model.finishSignIn('ws', 'nonsense');
    expect(model.pasteError('ws')).not.toBeNull();
    // Cancelled from a notebook: the next sign-in starts with a closed link and no error.
    model.dispatch({ type: 'status', connection: conn({ name: 'ws', reason: 'cancelled' }) });
    expect(model.pasteError('ws')).toBeNull();
    expect(model.pasteOffer('ws')).toBeNull();
    model.dispatch({ type: 'status', connection: pending() }); // e.g. a kernel's sign-in
    expect(model.pasteOffer('ws')).toBeNull(); // the old login reply does not count for it
  });
});
