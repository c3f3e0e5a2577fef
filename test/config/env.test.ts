import { describe, expect, it } from 'vitest';
import { expandEnv } from '../../src/config/env.js';

describe('expandEnv', () => {
  it('expands ${VAR} in every string value, keeping keys and other values', () => {
    const raw = { host: '${HOST}', list: ['a-${N}', 3, true, null], nested: { '${KEY_NAME}': 'x${N}y' } };
    const { value, problems } = expandEnv(raw, { HOST: 'h.internal', N: '7', KEY_NAME: 'no' });
    expect(problems).toEqual([]);
    expect(value).toEqual({
      host: 'h.internal',
      list: ['a-7', 3, true, null],
      nested: { '${KEY_NAME}': 'x7y' },
    });
  });

  it('keeps $${VAR} as the literal ${VAR}, and leaves $VAR and other shell forms alone', () => {
    const { value, problems } = expandEnv(
      { run: 'echo $${HOME} $HOME ${#arr[@]} ${x%.txt} ${ FOO }' },
      { HOME: '/home/me' },
    );
    expect(problems).toEqual([]);
    expect(value).toEqual({ run: 'echo ${HOME} $HOME ${#arr[@]} ${x%.txt} ${ FOO }' });
  });

  it('uses ${VAR:-fallback} when VAR is unset or empty', () => {
    const { value } = expandEnv({ a: '${A:-one}', b: '${B:-two}', c: '${C:-}' }, { A: '', B: 'set' });
    expect(value).toEqual({ a: 'one', b: 'set', c: '' });
  });

  it('reports each unset variable with its key path', () => {
    const { problems } = expandEnv(
      { targets: [{ 'private-key': '${SSH_KEY}', vars: { 'my var': '${X} ${Y}' } }] },
      {},
    );
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'targets[0].private-key: environment variable SSH_KEY is not set',
      'targets[0].vars["my var"]: environment variable X is not set',
      'targets[0].vars["my var"]: environment variable Y is not set',
    ]);
  });

  it('collects the values of secret-looking variables only', () => {
    const env = {
      SSH_KEY: 'k-value',
      API_TOKEN: 't-value',
      DB_PASSWORD: 'p-value',
      MY_SECRET: 's-value',
      AWS_CREDENTIALS: 'c-value',
      HOST: 'not-secret',
    };
    const { secrets } = expandEnv(
      {
        a: '${SSH_KEY} ${API_TOKEN} ${DB_PASSWORD}',
        b: ['${MY_SECRET}', '${AWS_CREDENTIALS}', '${HOST}', '${SSH_KEY}'],
      },
      env,
    );
    expect(secrets.sort()).toEqual(['c-value', 'k-value', 'p-value', 's-value', 't-value']);
  });

  it('keeps a __proto__ key a plain key', () => {
    const raw = JSON.parse('{"__proto__": {"polluted": "${X}"}}') as unknown;
    const { value } = expandEnv(raw, { X: 'yes' });
    expect(Object.keys(value as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
