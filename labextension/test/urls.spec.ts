import { API_NAMESPACE, apiUrl } from '../src/urls';

describe('apiUrl', () => {
  it('joins the base URL and the namespace', () => {
    expect(apiUrl('/', 'api', 'version')).toBe('/dbx-auth/api/version');
    expect(API_NAMESPACE).toBe('dbx-auth');
  });

  it('adds the missing slash after a base URL', () => {
    expect(apiUrl('/user/alice', 'api')).toBe('/user/alice/dbx-auth/api');
  });

  it('encodes each segment', () => {
    expect(apiUrl('/', 'connections', 'prod ws/1')).toBe(
      '/dbx-auth/connections/prod%20ws%2F1'
    );
  });

  it('returns the namespace itself with no segments', () => {
    expect(apiUrl('http://h:8888/lab/')).toBe('http://h:8888/lab/dbx-auth');
  });
});
