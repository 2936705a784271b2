import { describe, expect, it } from 'vitest';
import { buildConfig } from './config.js';
import { editDistance, nearest, placeOf, unknownKeyMessage } from './config-hints.js';
import type { YamlProblem } from './config-yaml.js';
import { SluiceError } from './errors.js';
import { SECRET_32, problemsOf } from './config.fixture.js';

// Configuration errors are read by a person at a terminal: each says what to write instead.

function parseErrorOf(text: string): SluiceError {
  try {
    buildConfig(text, {}, 'sluice.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(SluiceError);
    return err as SluiceError;
  }
  throw new Error('expected an error');
}

describe('edit distance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['partitons', 'partitions', 1],
    ['tiemoutms', 'timeoutms', 1],
    ['kitten', 'sitting', 3],
    ['ca', 'abc', 3],
  ])('%s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  it('finds the nearest key ignoring case, _ and -, and nothing when none is close', () => {
    expect(nearest('endpoint', ['sources', 'endpoints', 'subscriptions'])).toBe('endpoints');
    expect(nearest('max_in_flight', ['timeoutMs', 'maxInFlight'])).toBe('maxInFlight');
    expect(nearest('Prefix', ['url', 'prefix'])).toBe('prefix');
    expect(nearest('verbose', ['nats', 'logging', 'endpoints'])).toBeUndefined();
    // Short keys get one edit: `ur` is `url`, `id` is not `kind`.
    expect(nearest('ur', ['url'])).toBe('url');
    expect(nearest('id', ['kind'])).toBeUndefined();
  });

  it('names the place of a path as the docs do', () => {
    expect(placeOf('/endpoints/0/allowNetworks')).toBe('endpoints[].allowNetworks');
    expect(placeOf('/nats/url')).toBe('nats.url');
    expect(placeOf('/verbose')).toBe('verbose');
  });

  it('prefers a key at the same level over a key elsewhere', () => {
    const places = new Map([['url', ['nats.url']]]);
    expect(unknownKeyMessage('/endpoints/0/ulr', ['id', 'url'], places)).toBe(
      'unknown key; did you mean `url`?',
    );
    expect(unknownKeyMessage('/url', ['nats', 'endpoints'], places)).toBe(
      'unknown key here; `url` belongs in `nats.url`',
    );
    expect(unknownKeyMessage('/verbose', ['nats'], places)).toBe('unknown key');
  });
});

describe('unknown keys', () => {
  it('suggest the nearest valid key at their own level', () => {
    const problems = problemsOf(`
endpoint:
  - id: billing
nats: { partitons: 4 }
deliverer: { concurency: 8 }
endpoints:
  - id: billing
    url: https://billing.example/hooks
    tiemoutMs: 500
    max_in_flight: 3
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: '/endpoint', kind: 'unknown-key', message: 'unknown key; did you mean `endpoints`?' },
        { path: '/nats/partitons', kind: 'unknown-key', message: 'unknown key; did you mean `partitions`?' },
        {
          path: '/deliverer/concurency',
          kind: 'unknown-key',
          message: 'unknown key; did you mean `concurrency`?',
        },
        {
          path: '/endpoints/0/tiemoutMs',
          kind: 'unknown-key',
          message: 'unknown key; did you mean `timeoutMs`?',
        },
        {
          path: '/endpoints/0/max_in_flight',
          kind: 'unknown-key',
          message: 'unknown key; did you mean `maxInFlight`?',
        },
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('say where a key that exists elsewhere belongs', () => {
    expect(problemsOf('allowNetworks: [10.0.0.0/8]\n')).toEqual([
      {
        path: '/allowNetworks',
        kind: 'unknown-key',
        message:
          'unknown key here; `allowNetworks` belongs in `deliverer.allowNetworks` or `endpoints[].allowNetworks`',
      },
    ]);
  });

  it('stay plain when nothing is close', () => {
    expect(problemsOf('verbose: true\n')).toEqual([
      { path: '/verbose', kind: 'unknown-key', message: 'unknown key' },
    ]);
  });

  it('suggest the nearest SLUICE_* variable for a misspelt one', () => {
    const problems = problemsOf('', { SLUICE_NATS_PARTITONS: '4', SLUICE_NATS_PORT: '4222' });
    expect(problems).toEqual([
      {
        path: 'env:SLUICE_NATS_PARTITONS',
        kind: 'unknown-key',
        message: 'unknown SLUICE_* environment variable; did you mean SLUICE_NATS_PARTITIONS?',
      },
      // PORT is four edits from PASS and from USER: no guess is better than a wrong one.
      { path: 'env:SLUICE_NATS_PORT', kind: 'unknown-key', message: 'unknown SLUICE_* environment variable' },
    ]);
  });
});

describe('malformed values', () => {
  it('describe a signing secret in words, not as a regex, without echoing it', () => {
    const [problem, ...rest] = problemsOf(
      'endpoints:\n  - { id: a, url: "https://a.example/", secret: "whsec_not*base64" }\n',
    );
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ path: '/endpoints/0/secret', kind: 'format' });
    expect(problem!.message).toMatch(/^expected whsec_ followed by base64 of 24–64 random bytes/);
    expect(problem!.message).toContain('openssl rand -base64 32');
    expect(problem!.message).not.toMatch(/[\^$]\[|not\*base64/);
  });

  it('say how long a well-formed secret must be', () => {
    const short = `whsec_${Buffer.alloc(8, 1).toString('base64')}`;
    const [problem, ...rest] = problemsOf(
      `endpoints:\n  - { id: a, url: "https://a.example/", secret: "${short}" }\n`,
    );
    expect(rest).toEqual([]);
    expect(problem!.message).toMatch(/^expected whsec_ followed by base64 of 24–64 random bytes/);
    expect(problem!.message).toMatch(/decodes to 8 bytes$/);
  });

  it('describe ids and the prefix in words', () => {
    const problems = problemsOf(
      `nats: { prefix: "Shop Events" }\nendpoints:\n  - { id: "-a", url: "https://a.example/", secret: ${SECRET_32} }\n`,
    );
    expect(problems.map((p) => [p.path, p.message])).toEqual([
      ['/nats/prefix', 'expected a lower-case letter, then up to 31 of a–z, 0–9, _ or -'],
      ['/endpoints/0/id', 'expected an id: a letter or digit, then up to 63 letters, digits, _ or -'],
    ]);
  });
});

describe('a missing ${VAR}', () => {
  it('is one problem at its path, not also the failure of the emptied value', () => {
    const problems = problemsOf(`
endpoints:
  - id: billing
    url: \${BILLING_URL}
    secret: \${BILLING_SECRET}
    timeoutMs: \${TIMEOUT}
subscriptions:
  - { id: all, endpoint: "\${ENDPOINT}", types: [">"] }
`);
    expect(problems).toEqual([
      { path: '/endpoints/0/url', kind: 'env', message: '${BILLING_URL} is not set in the environment' },
      {
        path: '/endpoints/0/secret',
        kind: 'env',
        message: '${BILLING_SECRET} is not set in the environment',
      },
      { path: '/endpoints/0/timeoutMs', kind: 'env', message: '${TIMEOUT} is not set in the environment' },
      {
        path: '/subscriptions/0/endpoint',
        kind: 'env',
        message: '${ENDPOINT} is not set in the environment',
      },
    ]);
  });

  it('leaves the other problems of the same file reported', () => {
    const problems = problemsOf(`
nats: { partitions: 0 }
endpoints:
  - { id: billing, url: "\${BILLING_URL}", secret: "whsec_short" }
`);
    expect(problems.map((p) => [p.path, p.kind]).sort()).toEqual([
      ['/endpoints/0/secret', 'format'],
      ['/endpoints/0/url', 'env'],
      ['/nats/partitions', 'range'],
    ]);
  });
});

describe('YAML syntax errors', () => {
  it.each([
    ['tab indentation', 'nats:\n\tpartitions: 3\n', 2, 1, 'TAB_AS_INDENT', /tabs/i],
    ['a duplicate key', 'nats: {}\nlogging: {}\nnats: {}\n', 3, 1, 'DUPLICATE_KEY', /unique/],
    ['an unclosed quote', 'nats:\n  url: "nats://x\n', 3, 1, 'MISSING_CHAR', /quote/],
    [
      'an unquoted type pattern',
      'subscriptions:\n  - { id: s, endpoint: e, types: [*.orders.insert] }\n',
      2,
      35,
      'UNRESOLVED_ALIAS',
      /quote it: "\*\.orders\.insert"/,
    ],
  ])('give line, column and reason for %s', (_, text, line, column, code, reason) => {
    const err = parseErrorOf(text);
    expect(err.code).toBe('SLUICE_CONFIG_PARSE');
    const problems = err.details!.problems as YamlProblem[];
    expect(problems).toEqual([{ line, column, code, message: expect.stringMatching(reason) }]);
    expect(err.message).toContain(`line ${line}, column ${column}: `);
  });

  it('are all reported at once, in file order', () => {
    const err = parseErrorOf('nats:\n\tpartitions: 3\nlogging: {}\nlogging: {}\n');
    const problems = err.details!.problems as YamlProblem[];
    expect(problems.map((p) => [p.line, p.code])).toEqual([
      [2, 'TAB_AS_INDENT'],
      [4, 'DUPLICATE_KEY'],
    ]);
    expect(err.message.split('\n')).toHaveLength(3);
  });
});
