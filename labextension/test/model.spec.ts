import { DbxAuthModel, IDbxApi, LOGIN_MESSAGE } from '../src/model/model';
import { IConnectionsPayload, INewServicePrincipal, IServicePrincipal } from '../src/model/types';
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
    return { authorize_url: `https://idp/authorize?c=${name}`, login_url: '/x', expires_at: 1 };
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
