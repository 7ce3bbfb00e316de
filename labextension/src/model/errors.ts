/**
 * Server errors in words: the server replies `{"message", "hint"}`; anything else (a proxy's HTML
 * page, a dropped connection) becomes a sentence that says what happened and what to do.
 */

export interface IErrorText {
  status: number;
  message: string;
  hint: string;
  /** The server's name for the kind of error (`LoginRequired`, ...), when it sent one. */
  error?: string;
}

/** The error shown for an HTTP reply `status` whose body is `body`. */
export function errorFromReply(status: number, body: string): IErrorText {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object') {
      const { message, hint, error } = parsed as Record<string, unknown>;
      if (typeof message === 'string' && message) {
        const text: IErrorText = { status, message, hint: typeof hint === 'string' ? hint : '' };
        if (typeof error === 'string' && error) {
          text.error = error;
        }
        return text;
      }
    }
  } catch {
    // not JSON: fall through
  }
  if (status === 404) {
    return {
      status,
      message: 'The jupyter-dbx-auth server extension did not answer (HTTP 404).',
      hint: 'Check that it is installed and enabled: jupyter server extension list.'
    };
  }
  if (status === 403) {
    return {
      status,
      message: 'The Jupyter server refused the request (HTTP 403).',
      hint: 'Reload JupyterLab; if you were signed out of Jupyter, sign in again.'
    };
  }
  return {
    status,
    message: `The Jupyter server replied with HTTP ${status}.`,
    hint: 'See the Jupyter server log for details.'
  };
}

/** The error shown when the request did not reach the server at all. */
export function networkError(reason: string): IErrorText {
  return {
    status: 0,
    message: `Could not reach the Jupyter server (${reason}).`,
    hint: 'Check that the server is still running, then try again.'
  };
}
