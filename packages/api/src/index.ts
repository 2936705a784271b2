// The HTTP API role (docs/api.md): what the cli starts. Everything else is reached inside the package.
export { startApi } from './start-api.js';
