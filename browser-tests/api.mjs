// The JSON API from the tests' side, to set up the events a browser test then works
// on (so a test does not depend on what the demo year happens to hold).

import { DEMO_PASSWORD } from './harness.mjs';

/** Signs in to the API; returns a function for calls with that token. */
export async function apiAs(server, username) {
  const r = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: DEMO_PASSWORD }),
  });
  if (!r.ok) throw new Error(`API login of ${username}: HTTP ${r.status}`);
  const { token } = await r.json();
  return async function call(method, path, body) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json().catch(() => null);
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

/** A category's code by its name. */
export async function categoryCode(call, name) {
  const c = (await call('GET', '/api/v1/categories')).find((x) => x.name === name);
  if (!c) throw new Error(`no category ${name}`);
  return c.code;
}

/** A unit's id by its code. */
export async function unitId(call, code) {
  const u = (await call('GET', '/api/v1/orgs?kind=unit')).find((x) => x.code === code);
  if (!u) throw new Error(`no unit ${code}`);
  return u.id;
}

/** Reports an event in 凤山街道 as the caller; returns its detail. */
export function reportInFengshan(call, text, category) {
  return call('POST', '/api/v1/events', {
    channel: 'hotline_12345',
    reporter: { kind: 'citizen', name: '测试', phone: '13900001111' },
    text,
    category,
    township: '330281002',
  });
}
