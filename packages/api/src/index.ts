export { createApiServer } from './server.js';
export type { ApiServer, ApiServerOptions, RegisteredRoute } from './server.js';
export type { PublishOutcome, RouteDeps } from './route-deps.js';
export { statusOf, errorResponse } from './http-errors.js';
export type { ErrorBody } from './http-errors.js';
export { parseJsonBody, MAX_JSON_DEPTH } from './json-body.js';
export type { JsonBody, TextSpan } from './json-body.js';
export { INGEST_SOURCE } from './ingest-routes.js';
export type { IngestResponse } from './ingest-routes.js';
