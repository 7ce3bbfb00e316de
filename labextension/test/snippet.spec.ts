import { pyString, quoteArg, snippet } from '../src/model/snippet';

const magic = { form: 'magic' as const, loadExtension: true, checkLine: true };

describe('snippet', () => {
  it('loads the extension, connects and checks who is connected', () => {
    expect(snippet('ws', magic)).toBe(
      '%load_ext jupyter_dbx_auth\n%dbx_connect ws\nw.current_user.me().user_name'
    );
  });

  it('leaves out the optional lines', () => {
    expect(snippet('ws', { ...magic, loadExtension: false, checkLine: false })).toBe(
      '%dbx_connect ws'
    );
  });

  it('uses an AccountClient for account connections', () => {
    expect(snippet('admin', { ...magic, loadExtension: false, account: true })).toBe(
      '%dbx_connect admin --account\n[ws.workspace_name for ws in a.workspaces.list()]'
    );
  });

  it('passes a service principal', () => {
    expect(snippet('etl', { ...magic, loadExtension: false, checkLine: false, sp: 'nightly' })).toBe(
      '%dbx_connect etl --sp nightly'
    );
  });

  it('quotes names that the magic would split', () => {
    expect(quoteArg('prod-ws_1')).toBe('prod-ws_1');
    expect(quoteArg('my ws')).toBe('"my ws"');
    expect(quoteArg('a"b')).toBe('"a\\"b"');
    expect(snippet('my ws', { ...magic, loadExtension: false, checkLine: false })).toBe(
      '%dbx_connect "my ws"'
    );
  });

  it('has a Python form', () => {
    expect(snippet('ws', { ...magic, form: 'python', checkLine: false })).toBe(
      'import jupyter_dbx_auth\n\nw = jupyter_dbx_auth.connect("ws")'
    );
    expect(
      snippet('x"y', { form: 'python', loadExtension: false, checkLine: true, sp: 'n', account: true })
    ).toBe(
      'import jupyter_dbx_auth\n\na = jupyter_dbx_auth.connect("x\\"y", sp="n", account=True)\n' +
        '[ws.workspace_name for ws in a.workspaces.list()]'
    );
    expect(pyString('é')).toBe('"é"');
  });
});
