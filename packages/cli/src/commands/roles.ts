import { COMMON_OPTIONS, type CommandSpec } from '../command.js';
import type { Role } from '../runtime.js';
import { serve } from './serve.js';

/** `sluice up`: every role in one process, with embedded servers for what has no URL. */
export const up: CommandSpec = {
  name: 'up',
  summary:
    'run every role (api, capture, router, deliverer) in one process; starts embedded servers when no URLs are set',
  usage: 'sluice up [--config FILE] [--demo]',
  options: {
    ...COMMON_OPTIONS,
    demo: {
      type: 'boolean',
      description: 'start a demo receiver that verifies and prints every event, subscribed to all events',
    },
  },
  notes:
    'In embedded mode it records its servers in .sluice/state.json: admin commands run from the same folder\nuse them without --config. "sluice status --wait ready" waits until capture has a durable start position.',
  configSource: 'quickstart',
  run: (ctx) =>
    serve(ctx, {
      // The producers first: they are also stopped first, so that router and deliverer drain what they wrote.
      roles: ['api', 'capture', 'router', 'deliverer'],
      embedded: true,
      demo: ctx.args.values.demo === true || ctx.implicitConfig,
    }),
};

function roleCommand(role: Role, summary: string): CommandSpec {
  return {
    name: role,
    summary,
    usage: `sluice ${role} [--config FILE]`,
    options: COMMON_OPTIONS,
    configSource: 'env',
    run: (ctx) => serve(ctx, { roles: [role], embedded: false, demo: false }),
  };
}

/** The role commands of a production deployment: one role per process, explicit URLs. */
export const roles: readonly CommandSpec[] = [
  roleCommand('capture', 'run the capture role: binlog → SLUICE_EVENTS'),
  roleCommand('router', 'run the router role: SLUICE_EVENTS → SLUICE_DELIVERIES'),
  roleCommand('deliverer', 'run the deliverer role: SLUICE_DELIVERIES → HTTP endpoints'),
  roleCommand(
    'api',
    'run the HTTP API role: event ingest → SLUICE_EVENTS, on api.host:api.port (docs/api.md)',
  ),
];
