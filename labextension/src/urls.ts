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
