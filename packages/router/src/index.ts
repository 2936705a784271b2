export { Router } from './router.js';
export type { RouterOptions, RouterStats } from './router.js';
export { RoutingTable } from './routing-table.js';
export type { RouteTarget } from './routing-table.js';
export { ownAllPartitions } from './partition-owner.js';
export type { PartitionOwnership } from './partition-owner.js';
export { startRouter } from './start-router.js';
