import { describe, expect, it } from 'vitest';
import { childEnv, matchesName } from '../../src/transport/child-env.js';

describe('childEnv', () => {
  const env = {
    PATH: '/usr/bin',
    'INPUT_SSH-PRIVATE-KEY': 'k',
    INPUT_CONFIG: 'diffship.yml',
    ACTIONS_RUNTIME_TOKEN: 't',
    ACTIONS_ID_TOKEN_REQUEST_URL: 'u',
    ACTIONS_CACHE_URL: 'c',
    GITHUB_ENV: '/tmp/env',
    GITHUB_SHA: 'abc',
    DEPLOY_KEY_COPY: 'line1\nSECRETKEYMATERIAL\nline3',
    SHORT: 'pw',
    HOLDS_SHORT: 'xpwx',
    UNSET: undefined,
  };

  it('removes the runner secrets by name and every variable holding a secret value', () => {
    const out = childEnv(env, { secrets: ['SECRETKEYMATERIAL', 'pw'] });
    expect(out).toEqual({ PATH: '/usr/bin', GITHUB_SHA: 'abc', HOLDS_SHORT: 'xpwx' });
  });

  it('lets pass-env names and prefixes through', () => {
    const out = childEnv(env, { pass: ['INPUT_CONF*', 'GITHUB_ENV'] });
    expect(out.INPUT_CONFIG).toBe('diffship.yml');
    expect(out.GITHUB_ENV).toBe('/tmp/env');
    expect(out['INPUT_SSH-PRIVATE-KEY']).toBeUndefined();
  });

  it('removes a copy of a runner token under another name', () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.runtime';
    const out = childEnv({ ACTIONS_RUNTIME_TOKEN: token, MY_COPY: `Bearer ${token}`, OTHER: 'x' });
    expect(out).toEqual({ OTHER: 'x' });
  });

  it('removes the same key written with other line ends', () => {
    const key =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n-----END OPENSSH PRIVATE KEY-----\n';
    const out = childEnv({ CRLF_COPY: key.replace(/\n/g, '\r\n'), OTHER: 'x' }, { secrets: [key] });
    expect(out).toEqual({ OTHER: 'x' });
  });

  it('ignores an empty or blank secret', () => {
    expect(childEnv({ A: 'x' }, { secrets: ['', '          '] })).toEqual({ A: 'x' });
  });

  it('matches names exactly or by a prefix before *', () => {
    expect(matchesName('INPUT_X', ['INPUT_*'])).toBe(true);
    expect(matchesName('INPUTX', ['INPUT_*'])).toBe(false);
    expect(matchesName('ACTIONS_RESULTS_URL', ['ACTIONS_RESULTS_URL'])).toBe(true);
    expect(matchesName('ACTIONS_RESULTS_URL2', ['ACTIONS_RESULTS_URL'])).toBe(false);
  });
});
