import { API_NAMESPACE, apiUrl, eventsUrlOf } from '../src/urls';

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

describe('eventsUrlOf', () => {
  const url = '/user/alice/dbx-auth/api/events';

  it('adds the _xsrf cookie, which an EventSource cannot send as a header', () => {
    expect(eventsUrlOf(url, '', 'a=1; _xsrf=2%7Cabc%7Cdef; b=2')).toBe(`${url}?_xsrf=2%7Cabc%7Cdef`);
  });

  it('adds the token when JupyterLab appends it, and both when both are there', () => {
    expect(eventsUrlOf(url, 'tok', '')).toBe(`${url}?token=tok`);
    expect(eventsUrlOf(url, 't k', '_xsrf=x')).toBe(`${url}?token=t+k&_xsrf=x`);
  });

  it('leaves the URL alone without either, and ignores look-alike cookies', () => {
    expect(eventsUrlOf(url, '', '')).toBe(url);
    expect(eventsUrlOf(url, '', 'my_xsrf=1; _xsrfx=2')).toBe(url);
  });
});
