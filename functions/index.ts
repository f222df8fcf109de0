import { app } from '@azure/functions';
import { processSettings } from '../shared/config';
import { runtimeSource } from '../shared/runtime';
import { observeDependencies } from '../shared/observe';
import { APP_SETUP, createHttpFunctions, createTimerFunctions } from './app';

// The Functions host's entry point (package.json "main" is its bundle).
app.setup(APP_SETUP);
// Latency of every outgoing call, for the request log lines.
observeDependencies();

// One runtime for the process, built at the first request (or timer run) from the app settings.
const runtime = runtimeSource(processSettings);
for (const fn of createHttpFunctions(runtime)) app.http(fn.name, fn.options);
for (const timer of createTimerFunctions(runtime)) app.timer(timer.name, { schedule: timer.schedule, handler: timer.handler });
