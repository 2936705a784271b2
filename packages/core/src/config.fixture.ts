import { expect } from 'vitest';
import { buildConfig, type ConfigProblem } from './config.js';
import { SluiceError } from './errors.js';

// Helpers shared by the config tests (config.test.ts, config-env.test.ts).
// 32 bytes, base64: a valid Standard Webhooks secret.
export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const SECRET_32 = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

export function problemsOf(text: string, env: Record<string, string> = {}): ConfigProblem[] {
  try {
    buildConfig(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe('SLUICE_CONFIG_INVALID');
    return (err as SluiceError).details!.problems as ConfigProblem[];
  }
  throw new Error('expected SLUICE_CONFIG_INVALID');
}

/** The code of the SluiceError `fn` throws, a note when it throws something else, `undefined` when it returns. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SluiceError ? err.code : `not a SluiceError: ${String(err)}`;
  }
  return undefined;
}
