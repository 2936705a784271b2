import type { Phase } from '../phase.js';
import { rawHttp } from './raw-http.js';
import { rawJetstreamConsume, rawJetstreamPublish } from './raw-jetstream.js';
import { rawBinlog } from './raw-binlog.js';
import { bullmq } from './bullmq.js';
import { delivererInProcessPhase, delivererPhase, delivererPoolPhase } from './sluice-deliverer.js';
import { capturePhase } from './sluice-capture.js';
import { slowEndpointPhase } from './sluice-slow-endpoint.js';
import { routerFanout1, routerFanout10 } from './sluice-router.js';
import { e2ePhase1, e2eFanout10, e2eOneDead } from './sluice-e2e.js';

/** Every phase, in the order a full run takes them. */
export const PHASES: readonly Phase[] = [
  rawHttp,
  rawJetstreamPublish,
  rawJetstreamConsume,
  rawBinlog,
  bullmq,
  delivererPhase,
  delivererInProcessPhase,
  delivererPoolPhase,
  slowEndpointPhase,
  capturePhase,
  routerFanout1,
  routerFanout10,
  e2ePhase1,
  e2eFanout10,
  e2eOneDead,
];
