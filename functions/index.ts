import { app } from '@azure/functions';
import { APP_SETUP } from './manifest';
import { lazyFunctions, loadHandlers } from './lazy';

// The Functions host's entry point (package.json "main" is its bundle). Every function is
// registered now, from the manifest, as the host indexes them at load; their code (handlers.js)
// loads at the first call.
app.setup(APP_SETUP);
const functions = lazyFunctions(() => loadHandlers().startHandlers());
for (const fn of functions.http) app.http(fn.name, fn.options);
for (const timer of functions.timers) app.timer(timer.name, { schedule: timer.schedule, handler: timer.handler });
