/**
 * URLs of the jupyter-dbx-auth server extension, relative to the Jupyter server's base URL.
 */

/** Path prefix of every endpoint of the server extension. */
export const API_NAMESPACE = 'dbx-auth';

/**
 * Join the server's base URL with `dbx-auth/` and the given path segments.
 *
 * Each segment is URL-encoded, so connection names with spaces or slashes stay one segment.
 */
export function apiUrl(baseUrl: string, ...segments: string[]): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const rest = segments.map(segment => encodeURIComponent(segment));
  return [`${base}${API_NAMESPACE}`, ...rest].join('/');
}

/** `url` with `token` (when given) and the `_xsrf` value of `cookies` (when there is one). */
export function eventsUrlOf(url: string, token: string, cookies: string): string {
  const params = new URLSearchParams();
  if (token) {
    params.set('token', token);
  }
  const xsrf = cookies
    .split(';')
    .map(part => part.trim())
    .find(part => part.startsWith('_xsrf='));
  if (xsrf) {
    params.set('_xsrf', decodeURIComponent(xsrf.slice('_xsrf='.length)));
  }
  const query = params.toString();
  return query ? `${url}?${query}` : url;
}
