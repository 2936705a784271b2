import {
  API_KEY_SCOPES,
  ApiKeyStore,
  SluiceError,
  connectNats,
  openApiKeys,
  type ApiKeyRecord,
  type ApiKeyScope,
} from '@sluice/core';
import { renderTable, type Column } from '../admin/table.js';
import { requireNats } from '../admin/context.js';
import {
  ADMIN_OPTIONS,
  type CliIo,
  type CommandContext,
  type CommandSpec,
  type ParsedArgs,
} from '../command.js';

/** A key as `sluice keys` shows it: never the key, never its hash. */
export type KeyView = Omit<ApiKeyRecord, 'hash'>;

const COLUMNS: readonly Column<KeyView>[] = [
  { heading: 'ID', cell: (k) => k.id },
  { heading: 'SCOPE', cell: (k) => k.scope },
  { heading: 'NAME', cell: (k) => k.name },
  { heading: 'CREATED', cell: (k) => k.createdAt },
  { heading: 'REVOKED', cell: (k) => k.revokedAt },
];

/** What `sluice keys …` does, checked before anything connects. */
type KeysRun = (store: ApiKeyStore, io: CliIo, json: boolean) => Promise<number>;

/**
 * `sluice keys create | ls | revoke`: manages the API keys in the `<prefix>_apikeys` bucket, talking
 * to NATS directly (`nats.url`). `create` prints the key on stdout once; nothing else ever shows it.
 * @throws SluiceError `SLUICE_USAGE`, `SLUICE_CONFIG_INVALID`, `SLUICE_API_KEY_NOT_FOUND`
 */
export async function runKeys(ctx: CommandContext): Promise<number> {
  const { args, config, io } = ctx;
  const run = planKeys(args, ctx.nowMs);
  requireNats(ctx);
  const { nc } = await connectNats(config.nats, { name: 'sluice-keys' });
  try {
    return await run(new ApiKeyStore(await openApiKeys(nc, config.nats)), io, args.values.json === true);
  } finally {
    await nc.close();
  }
}

/** Checks a `sluice keys` command line; returns what to run. */
export function planKeys(args: ParsedArgs, nowMs: number): KeysRun {
  if (args.subcommand === 'create')
    return create(scopeOf(args.values.scope), nameOf(args.values.name), nowMs);
  if (args.subcommand === 'revoke') return revoke(args.operands?.[0] ?? '', nowMs);
  return list;
}

function scopeOf(value: unknown): ApiKeyScope {
  if (typeof value !== 'string')
    throw new SluiceError('SLUICE_USAGE', `sluice keys create needs --scope ${API_KEY_SCOPES.join('|')}`);
  if (!API_KEY_SCOPES.includes(value as ApiKeyScope))
    throw new SluiceError(
      'SLUICE_USAGE',
      `unknown scope "${value}": use ${API_KEY_SCOPES.join(', ')} (admin may do everything)`,
    );
  return value as ApiKeyScope;
}

function nameOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function view(record: ApiKeyRecord): KeyView {
  const { hash: _hash, ...rest } = record;
  return rest;
}

function create(scope: ApiKeyScope, name: string | undefined, nowMs: number): KeysRun {
  return async (store, io, json) => {
    const { key, record } = await store.create(scope, name, nowMs);
    if (json) io.out(JSON.stringify({ ...view(record), key }, null, 2));
    else {
      // stdout carries only the key, so that KEY=$(sluice keys create …) works.
      io.out(key);
      io.err(
        `created API key ${record.id} (scope ${scope}${name !== undefined ? `, name ${name}` : ''}). ` +
          'It is shown only now: sluice stores its hash.',
      );
    }
    return 0;
  };
}

const list: KeysRun = async (store, io, json) => {
  const keys = (await store.list()).map(view);
  if (json) io.out(JSON.stringify(keys, null, 2));
  else if (keys.length === 0) io.out('no API keys; create one with: sluice keys create --scope ingest');
  else for (const line of renderTable(COLUMNS, keys)) io.out(line);
  return 0;
};

function revoke(id: string, nowMs: number): KeysRun {
  return async (store, io, json) => {
    const record = await store.revoke(id, nowMs);
    io.out(
      json
        ? JSON.stringify(view(record), null, 2)
        : `API key ${record.id} revoked at ${record.revokedAt}; requests with it are refused`,
    );
    return 0;
  };
}

/** `sluice keys`. */
export const keysCommand: CommandSpec = {
  name: 'keys',
  summary: 'create, list and revoke the API keys of the HTTP API',
  usage: [
    'sluice keys create --scope ingest|read|admin [--name NAME] [--json]',
    '       sluice keys [ls] [--json]',
    '       sluice keys revoke <id> [--json]',
  ].join('\n'),
  options: {
    ...ADMIN_OPTIONS,
    scope: { type: 'string', description: 'what the key may do: ingest, read or admin (create)' },
    name: { type: 'string', description: 'a label for the key, e.g. the service that uses it (create)' },
  },
  subcommands: [
    {
      name: 'ls',
      summary: 'id, scope, name, creation and revocation time of every key (the default)',
      operands: [],
      options: [],
    },
    {
      name: 'create',
      summary: 'create a key and print it on stdout, once: only its hash is stored',
      operands: [],
      options: ['scope', 'name'],
    },
    {
      name: 'revoke',
      summary: 'revoke a key by its id: the API refuses it within about a second',
      operands: ['id'],
      options: [],
    },
  ],
  notes:
    'A key is slk_<id>_<secret>; send it as "Authorization: Bearer <key>". Keys live hashed in the\n<prefix>_apikeys KV bucket; every command here needs nats.url.',
  configSource: 'local',
  run: runKeys,
};
