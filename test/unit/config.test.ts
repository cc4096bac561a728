/** The operator flags of §10–§11 and their environment variables. */
import { describe, expect, it } from 'vitest';
import { ConfigError, FLAGS, helpText, parseConfig } from '../../src/config.js';

describe('operator flags', () => {
  it('defaults: metrics on, info logs, no CORS, no JWT', () => {
    const c = parseConfig([], {});
    expect(c).toMatchObject({ metrics: true, logLevel: 'info', listCacheMiB: 16, pgPoolSize: 10 });
    expect(c?.corsOrigin).toBeUndefined();
    expect(c?.jwt).toBeUndefined();
  });

  it('reads flags, and the environment beside each', () => {
    const c = parseConfig(
      [
        '--jwt-jwks-url',
        'https://idp.example/jwks.json',
        '--jwt-issuer',
        'https://idp.example',
        '--cors-origin',
        'https://a.example, https://b.example',
        '--log-level',
        'debug',
        '--no-metrics',
        '--list-cache',
        '0',
        '--pg-pool',
        '4',
      ],
      {},
    );
    expect(c).toMatchObject({
      jwt: {
        jwksUrl: 'https://idp.example/jwks.json',
        issuer: 'https://idp.example',
        audience: undefined,
      },
      corsOrigin: ['https://a.example', 'https://b.example'],
      logLevel: 'debug',
      metrics: false,
      listCacheMiB: 0,
      pgPoolSize: 4,
    });
    const e = parseConfig([], {
      REAR_JWT_JWKS_URL: 'http://127.0.0.1:9/jwks',
      REAR_JWT_AUDIENCE: 'hub',
      REAR_CORS_ORIGIN: '*',
      REAR_LOG_LEVEL: 'warn',
      REAR_METRICS: 'off',
      REAR_LIST_CACHE: '64',
      REAR_PG_POOL: '20',
    });
    expect(e).toMatchObject({
      jwt: { jwksUrl: 'http://127.0.0.1:9/jwks', audience: 'hub' },
      corsOrigin: true,
      logLevel: 'warn',
      metrics: false,
      listCacheMiB: 64,
      pgPoolSize: 20,
    });
  });

  it('refuses what it cannot use', () => {
    expect(() => parseConfig(['--log-level', 'loud'], {})).toThrow(ConfigError);
    expect(() => parseConfig(['--list-cache', '-1'], {})).toThrow(/--list-cache/);
    expect(() => parseConfig(['--pg-pool', '0'], {})).toThrow(/--pg-pool/);
    expect(() => parseConfig(['--pg-pool', '2.5'], {})).toThrow(/whole number/);
    expect(() => parseConfig(['--cors-origin', 'app.example'], {})).toThrow(/origins like/);
    expect(() => parseConfig(['--jwt-jwks-url', 'ftp://x/jwks'], {})).toThrow(ConfigError);
    expect(() => parseConfig(['--jwt-issuer', 'https://idp'], {})).toThrow(/need --jwt-jwks-url/);
  });

  it('--help lists every flag with its environment variable', () => {
    const text = helpText();
    for (const [flag, env] of FLAGS) {
      expect(text).toContain(flag);
      expect(text).toContain(env);
    }
  });
});
