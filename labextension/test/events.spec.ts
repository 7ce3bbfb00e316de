import { cleanConnection, EMPTY_STATE, IDbxState, principalsOf, reduce } from '../src/model/events';
import { IServicePrincipal } from '../src/model/types';
import { conn } from './fixtures';

const snapshot = (state: IDbxState = EMPTY_STATE): IDbxState =>
  reduce(state, {
    type: 'snapshot',
    payload: {
      connections: [conn({ name: 'ws' }), conn({ name: 'etl', method: 'm2m' })],
      problems: [{ name: 'broken', message: 'bad host', hint: 'fix it' }],
      store: { backend: 'file', warnings: [] }
    }
  });

describe('event reduction', () => {
  it('starts empty and not loaded', () => {
    expect(EMPTY_STATE.loaded).toBe(false);
    expect(EMPTY_STATE.connections).toEqual([]);
  });

  it('replaces everything on a snapshot, sorted by name', () => {
    const state = snapshot();
    expect(state.loaded).toBe(true);
    expect(state.connections.map(c => c.name)).toEqual(['etl', 'ws']);
    expect(state.problems).toHaveLength(1);
    expect(state.store?.backend).toBe('file');
  });

  it('replaces one connection on a status event, without the envelope', () => {
    const before = snapshot();
    const after = reduce(before, {
      type: 'status',
      connection: { type: 'status', ...conn({ name: 'ws', status: 'ok', identity: 'alice' }) } as never
    });
    expect(after.connections[1].status).toBe('ok');
    expect(after.connections[1].identity).toBe('alice');
    expect('type' in after.connections[1]).toBe(false);
    expect(after.connections[0]).toBe(before.connections[0]);
    expect(before.connections[1].status).toBe('logged_out');
  });

  it('ignores status events for connections it does not list', () => {
    const before = snapshot();
    const after = reduce(before, {
      type: 'status',
      connection: conn({ name: 'etl#sp:123', status: 'ok' })
    });
    expect(after).toBe(before);
  });

  it('applies events in order: the last one wins', () => {
    let state = snapshot();
    for (const status of ['login_pending', 'ok', 'logged_out', 'ok']) {
      state = reduce(state, { type: 'status', connection: conn({ name: 'ws', status }) });
    }
    expect(state.connections.find(c => c.name === 'ws')?.status).toBe('ok');
  });

  it('a later snapshot overrides earlier status events', () => {
    let state = reduce(snapshot(), {
      type: 'status',
      connection: conn({ name: 'ws', status: 'ok' })
    });
    state = snapshot(state);
    expect(state.connections.find(c => c.name === 'ws')?.status).toBe('logged_out');
  });

  it('reads the state field when status is missing and drops unknown fields', () => {
    const raw = { ...conn(), status: undefined, state: 'ok', access_token: 'x' } as never;
    const clean = cleanConnection(raw);
    expect(clean.status).toBe('ok');
    expect(Object.keys(clean)).not.toContain('access_token');
  });

  it('keeps service principals per connection', () => {
    const sp = (connection: string, client_id: string): IServicePrincipal => ({
      connection,
      client_id,
      label: '',
      expires_at: null,
      warning: null,
      has_secret: true
    });
    const state = reduce(snapshot(), {
      type: 'service-principals',
      servicePrincipals: [sp('ws', 'b'), sp('etl', 'z'), sp('ws', 'a')]
    });
    expect(principalsOf(state, 'ws').map(s => s.client_id)).toEqual(['a', 'b']);
    expect(principalsOf(state, 'etl')).toHaveLength(1);
    expect(principalsOf(state, 'none')).toEqual([]);
  });
});
