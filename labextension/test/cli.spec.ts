import {
  CLI_BUTTON_TEXT,
  cliError,
  cliOffer,
  cliQuestion,
  DEFAULT_CLI_NOTE,
  replacesOf,
  sourceText
} from '../src/model/cli';
import { errorFromReply } from '../src/model/errors';
import { DbxAuthModel, IDbxApi } from '../src/model/model';
import {
  ICliLoginInfo,
  ICliLoginReply,
  IConnection,
  IConnectionsPayload
} from '../src/model/types';
import { conn } from './fixtures';

const NOTE =
  'Jupyter now refreshes this sign-in itself. Where Databricks issues single-use refresh ' +
  "tokens, Jupyter's first refresh invalidates the CLI's copy: run `databricks auth login` " +
  'again before using the CLI for this workspace.';
const FOUND: ICliLoginInfo = {
  connection: 'ws',
  available: true,
  source: 'token-cache.json (https://adb-1.cloud.databricks.com)',
  note: NOTE
};

describe('cliOffer', () => {
  it('offers a found CLI sign-in on a signed-out user connection, with the note', () => {
    const offer = cliOffer(conn(), FOUND, 'idle');
    expect(offer).toEqual({
      step: 'idle',
      replaces: 'nothing',
      source: FOUND.source,
      question:
        'Sign ws in with your Databricks CLI sign-in (from ~/.databricks/token-cache.json)?',
      note: NOTE
    });
  });

  it('offers nothing when the CLI holds none, nobody asked yet, or for other methods', () => {
    expect(cliOffer(conn(), { ...FOUND, available: false, source: null }, 'idle')).toBeNull();
    expect(cliOffer(conn(), null, 'idle')).toBeNull();
    expect(cliOffer(conn({ method: 'm2m' }), FOUND, 'idle')).toBeNull();
    expect(cliOffer(conn({ method: 'pat' }), FOUND, 'idle')).toBeNull();
  });

  it('offers nothing while a sign-in window is open (its one action is Cancel)', () => {
    expect(cliOffer(conn({ status: 'login_pending' }), FOUND, 'idle')).toBeNull();
  });

  it('says what it replaces: nothing, an expired sign-in, or the current one', () => {
    expect(replacesOf(conn())).toBe('nothing');
    expect(replacesOf(conn({ status: 'login_required' }))).toBe('expired');
    for (const status of ['ok', 'refreshing', 'error']) {
      expect(replacesOf(conn({ status }))).toBe('current');
    }
    expect(replacesOf(conn({ status: 'ok', warnings: ['soon'] }))).toBe('current');
    const signedIn = conn({ status: 'ok', identity: 'ada@example.com' });
    expect(cliOffer(signedIn, FOUND, 'confirm')?.question).toMatch(
      new RegExp(
        "\\? It replaces your current sign-in as ada@example\\.com, which is kept should " +
          "Databricks refuse the CLI's\\.$"
      )
    );
    expect(cliQuestion(conn({ status: 'login_required' }), 'expired', '')).toBe(
      'Sign ws in with your Databricks CLI sign-in? It replaces the sign-in that expired.'
    );
  });

  it('names where the CLI keeps it, and the entry when it is not the host', () => {
    const ws = conn();
    expect(sourceText('keyring (https://adb-1.cloud.databricks.com/)', ws)).toBe('the OS keyring');
    expect(sourceText('token-cache.json (DEFAULT)', ws)).toBe(
      '~/.databricks/token-cache.json, entry DEFAULT'
    );
    expect(sourceText('somewhere new', ws)).toBe('somewhere new');
    expect(cliQuestion(ws, 'nothing', '')).toBe('Sign ws in with your Databricks CLI sign-in?');
  });

  it("falls back to the server's words when a server sends no note", () => {
    expect(cliOffer(conn(), { ...FOUND, note: '' }, 'idle')?.note).toBe(DEFAULT_CLI_NOTE);
    expect(DEFAULT_CLI_NOTE).toBe(NOTE);
  });
});

describe('cliError', () => {
  it("turns a refused refresh token into the way back: a new `databricks auth login`", () => {
    const refused = errorFromReply(
      409,
      JSON.stringify({
        message: 'refresh token request to https://adb-1 was refused (HTTP 400, invalid_grant).',
        hint: 'Sign in again from the Databricks sidebar.',
        error: 'LoginRequired'
      })
    );
    expect(refused.error).toBe('LoginRequired');
    const shown = cliError(refused, conn());
    expect(shown.message).toBe(refused.message);
    expect(shown.hint).toBe(
      "Databricks refused the CLI's sign-in (used up, revoked or expired). Run " +
        '`databricks auth login --host https://adb-1.cloud.databricks.com` again and then use ' +
        'it here, or press Log in.'
    );
  });

  it('says the previous sign-in is kept when the server put it back', () => {
    const refused = errorFromReply(
      409,
      JSON.stringify({
        message: "Databricks refused the Databricks CLI's sign-in for ws: refused.",
        hint: 'Run `databricks auth login --host h` again. Your previous sign-in is kept.',
        error: 'LoginRequired'
      })
    );
    expect(cliError(refused, conn()).hint).toBe(
      "Databricks refused the CLI's sign-in (used up, revoked or expired). Run " +
        '`databricks auth login --host https://adb-1.cloud.databricks.com` again and then use ' +
        'it here. Your previous sign-in is kept.'
    );
  });

  it('says how to replace a sign-in made meanwhile, and keeps other hints', () => {
    const taken = errorFromReply(
      409,
      JSON.stringify({
        message: 'Nothing imported for ws: already signed in; not overwritten.',
        hint: 'Send {"overwrite": true} to replace the current sign-in.'
      })
    );
    expect(cliError(taken, conn()).hint).toBe(
      `Press ${CLI_BUTTON_TEXT} again to replace the current sign-in.`
    );
    const gone = errorFromReply(404, '{"message": "Nothing imported.", "hint": "Run it first."}');
    expect(cliError(gone, conn())).toEqual({ message: 'Nothing imported.', hint: 'Run it first.' });
    expect(cliError(new Error('boom'), undefined)).toEqual({ message: 'boom', hint: '' });
  });
});

/** The server as far as the panel sees it; the CLI holds sign-ins for `cliHosts`' names. */
class Api implements IDbxApi {
  asked: string[] = [];
  posted: string[] = [];
  payload: IConnectionsPayload = {
    connections: [
      conn({ name: 'cli' }),
      conn({ name: 'ws' }),
      conn({ name: 'etl', method: 'm2m', status: 'ok' })
    ],
    problems: [],
    store: { backend: 'memory', warnings: [] }
  };
  cli = new Set(['cli']);
  /** What the next POST answers: a status, or an error thrown. */
  next: ((name: string) => ICliLoginReply) | Error = name => ({
    ...conn({ name, status: 'ok', identity: 'ada@example.com' }),
    imported_from: 'imported from databricks-cli token-cache.json',
    note: NOTE
  });
  release: (() => void) | null = null;

  async connections() {
    return this.payload;
  }
  async servicePrincipals() {
    return [];
  }
  async cliLogin(name: string): Promise<ICliLoginInfo> {
    this.asked.push(name);
    const found = this.cli.has(name);
    return { connection: name, available: found, source: found ? 'keyring (x)' : null, note: NOTE };
  }
  async useCliLogin(name: string, overwrite: boolean): Promise<ICliLoginReply> {
    this.posted.push(`${name}:${overwrite}`);
    await new Promise<void>(resolve => (this.release = resolve));
    if (this.next instanceof Error) {
      throw this.next;
    }
    return this.next(name);
  }
  login(): never {
    throw new Error('not here');
  }
  logout(): never {
    throw new Error('not here');
  }
  cancelLogin(): never {
    throw new Error('not here');
  }
  finishSignIn(): never {
    throw new Error('not here');
  }
  addServicePrincipal(): never {
    throw new Error('not here');
  }
  deleteServicePrincipal(): never {
    throw new Error('not here');
  }
  eventsUrl() {
    return '/dbx-auth/api/events';
  }
}

const made: DbxAuthModel[] = [];
afterEach(() => made.splice(0).forEach(m => m.dispose()));

async function setup() {
  const api = new Api();
  const model = new DbxAuthModel({ api, live: false });
  made.push(model);
  await model.refresh();
  await flush();
  const card = (name: string) => model.state.connections.find(c => c.name === name)!;
  return { api, model, card };
}

const flush = () => new Promise(resolve => setTimeout(resolve, 0));

/** Let the pending POST answer. */
async function answer(api: Api): Promise<void> {
  while (!api.release) {
    await flush();
  }
  api.release();
  api.release = null;
  await flush();
}

describe('the model: "Use my Databricks CLI sign-in"', () => {
  it('asks once per user connection, again on an explicit refresh, never others', async () => {
    const { api, model, card } = await setup();
    expect(api.asked.sort()).toEqual(['cli', 'ws']);
    expect(model.cli.offer(card('cli'))?.step).toBe('idle');
    expect(model.cli.offer(card('ws'))).toBeNull();
    expect(model.cli.offer(card('etl'))).toBeNull();

    await model.refresh(); // the polling fallback, the callback page: not again
    model.dispatch({ type: 'snapshot', payload: api.payload }); // the events stream: not again
    await flush();
    expect(api.asked).toHaveLength(2);

    api.cli.add('ws'); // someone ran `databricks auth login` for ws
    await model.refresh(true); // Refresh
    await flush();
    expect(api.asked).toHaveLength(4);
    expect(model.cli.offer(card('ws'))?.source).toBe('keyring (x)');

    // A connection first listed later is asked about then.
    const connections = [...api.payload.connections, conn({ name: 'new' })];
    api.payload = { ...api.payload, connections };
    model.dispatch({ type: 'snapshot', payload: api.payload });
    await flush();
    expect(api.asked.slice(4)).toEqual(['new']);
  });

  it('asks first, then shows the status the server answered, and the note once more', async () => {
    const { api, model, card } = await setup();
    model.cli.start('cli');
    expect(model.cli.offer(card('cli'))).toMatchObject({ step: 'confirm', note: NOTE });
    expect(api.posted).toEqual([]); // nothing happens before the confirm

    const done = model.cli.confirm(card('cli'));
    expect(model.cli.offer(card('cli'))?.step).toBe('busy');
    expect(await model.cli.confirm(card('cli'))).toBe(false); // a second click sends nothing
    // Not signed in until the server says so.
    expect(card('cli').status).toBe('logged_out');
    await answer(api);
    expect(await done).toBe(true);
    expect(api.posted).toEqual(['cli:false']); // nothing to replace: no overwrite
    expect(card('cli')).toMatchObject({ status: 'ok', identity: 'ada@example.com' });
    expect(model.cli.offer(card('cli'))).toMatchObject({ step: 'idle', replaces: 'current' });
    expect(model.notice).toEqual({
      kind: 'info',
      message: 'Signed in to cli with your Databricks CLI sign-in.',
      hint: NOTE
    });
  });

  it('replaces a sign-in only after the confirm that says so (overwrite)', async () => {
    const { api, model, card } = await setup();
    const signedIn = conn({ name: 'cli', status: 'ok', identity: 'bob@x' });
    model.dispatch({ type: 'status', connection: signedIn });
    model.cli.start('cli');
    expect(model.cli.offer(card('cli'))?.question).toContain(
      'replaces your current sign-in as bob@x'
    );
    const done = model.cli.confirm(card('cli'));
    await answer(api);
    await done;
    expect(api.posted).toEqual(['cli:true']);
  });

  it('a refused CLI sign-in: the error in words, not signed in, the button again', async () => {
    const { api, model, card } = await setup();
    api.next = Object.assign(new Error('refresh token request was refused (invalid_grant).'), {
      status: 409,
      hint: 'Sign in again.',
      error: 'LoginRequired'
    });
    model.cli.start('cli');
    const done = model.cli.confirm(card('cli'));
    // The server's status event comes as it happened: the sign-in is not usable.
    model.dispatch({
      type: 'status',
      connection: conn({ name: 'cli', status: 'login_required', reason: 'expired' })
    });
    await answer(api);
    expect(await done).toBe(false);
    expect(card('cli').status).toBe('login_required');
    expect(model.notice).toBeNull();
    expect(model.cli.error('cli')?.message).toBe(
      'refresh token request was refused (invalid_grant).'
    );
    expect(model.cli.error('cli')?.hint).toMatch(/^Databricks refused the CLI's sign-in/);
    // Offered again (after a new `databricks auth login`), replacing the dead sign-in.
    expect(model.cli.offer(card('cli'))).toMatchObject({ step: 'idle', replaces: 'expired' });

    // Pressing the button again clears the error; Dismiss does too.
    model.cli.start('cli');
    expect(model.cli.error('cli')).toBeNull();
    model.cli.cancel('cli');
    expect(model.cli.offer(card('cli'))?.step).toBe('idle');
  });

  it('an error goes once the connection signs in some other way', async () => {
    const { api, model, card } = await setup();
    api.next = Object.assign(new Error('Nothing imported.'), { status: 500, hint: '' });
    model.cli.start('cli');
    const done = model.cli.confirm(card('cli'));
    await answer(api);
    await done;
    expect(model.cli.error('cli')).not.toBeNull();
    model.dispatch({ type: 'status', connection: conn({ name: 'cli', status: 'login_pending' }) });
    expect(model.cli.error('cli')).not.toBeNull();
    model.dispatch({ type: 'status', connection: conn({ name: 'cli', status: 'ok' }) });
    expect(model.cli.error('cli')).toBeNull();
  });

  it('a CLI sign-in gone meanwhile (404): the error, then no more button', async () => {
    const { api, model, card } = await setup();
    api.cli.delete('cli');
    const gone = new Error('Nothing imported for cli: no Databricks CLI login found.');
    api.next = Object.assign(gone, {
      status: 404,
      hint: 'Run `databricks auth login --host h` first, or sign in here.'
    });
    model.cli.start('cli');
    const done = model.cli.confirm(card('cli'));
    await answer(api);
    await done;
    await flush();
    expect(model.cli.offer(card('cli'))).toBeNull();
    expect(model.cli.error('cli')?.hint).toContain('databricks auth login');
    model.cli.dismissError('cli');
    expect(model.cli.error('cli')).toBeNull();
  });

  it('a server that cannot tell offers nothing, and says nothing', async () => {
    const api = new Api();
    api.cliLogin = async () => {
      throw new Error('HTTP 500');
    };
    const model = new DbxAuthModel({ api, live: false });
    made.push(model);
    await model.refresh();
    await flush();
    const cli = model.state.connections.find((c: IConnection) => c.name === 'cli')!;
    expect(model.cli.offer(cli)).toBeNull();
    expect(model.notice).toBeNull();
  });
});
