/**
 * The code "Insert %dbx_connect" puts into a notebook cell.
 */

/** `magic`: `%dbx_connect NAME`; `python`: `w = jupyter_dbx_auth.connect("NAME")`. */
export type SnippetForm = 'magic' | 'python';

export interface ISnippetOptions {
  form: SnippetForm;
  /** Start with `%load_ext jupyter_dbx_auth` (magic form only). */
  loadExtension: boolean;
  /** Follow with a line that proves the connection works. */
  checkLine: boolean;
  /** An account console connection: `a = AccountClient` instead of `w`. */
  account?: boolean;
  /** A stored service principal (label or client id) instead of the connection's identity. */
  sp?: string | null;
}

const SAFE_WORD = /^[A-Za-z0-9_.:@+=,/-]+$/;

/** One shell-style argument, as IPython's `arg_split` reads it. */
export function quoteArg(value: string): string {
  if (SAFE_WORD.test(value)) {
    return value;
  }
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A Python string literal. */
export function pyString(value: string): string {
  return JSON.stringify(value);
}

export function snippet(name: string, options: ISnippetOptions): string {
  const variable = options.account ? 'a' : 'w';
  const check = options.account
    ? `[ws.workspace_name for ws in ${variable}.workspaces.list()]`
    : `${variable}.current_user.me().user_name`;
  const lines: string[] = [];
  if (options.form === 'python') {
    const args = [pyString(name)];
    if (options.sp) {
      args.push(`sp=${pyString(options.sp)}`);
    }
    if (options.account) {
      args.push('account=True');
    }
    lines.push('import jupyter_dbx_auth', '');
    lines.push(`${variable} = jupyter_dbx_auth.connect(${args.join(', ')})`);
  } else {
    if (options.loadExtension) {
      lines.push('%load_ext jupyter_dbx_auth');
    }
    let magic = `%dbx_connect ${quoteArg(name)}`;
    if (options.sp) {
      magic += ` --sp ${quoteArg(options.sp)}`;
    }
    if (options.account) {
      magic += ' --account';
    }
    lines.push(magic);
  }
  if (options.checkLine) {
    lines.push(check);
  }
  return lines.join('\n');
}
