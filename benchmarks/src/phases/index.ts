import type { Phase } from '../phase.js';
import { rawHttp } from './raw-http.js';

/** Every phase, in the order a full run takes them. */
export const PHASES: readonly Phase[] = [rawHttp];
