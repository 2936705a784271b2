// What other packages use: the CLI runs a Router. Everything else is internal.
export { Router } from './router.js';
export { startRouter } from './start-router.js';
