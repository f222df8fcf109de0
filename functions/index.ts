import { app } from '@azure/functions';
import type { HttpFunctionRegistration } from './registration';
import { loginFunction } from './login';
import { redirectFunction } from './redirect';
import { meFunction } from './me';
import { proxyFunction } from './proxy';
import { logoutFunction } from './logout';
import { logoutFrontChannelFunction } from './logoutFrontChannel';
import { logoutBackChannelFunction } from './logoutBackChannel';
import { healthFunction } from './health';
import { webFunction } from './web';
import { observeDependencies } from '../shared/observe';

// Proxied answers are streamed, not buffered.
app.setup({ enableHttpStream: true });
// Latency of every outgoing call, for the request log lines.
observeDependencies();

// The page's catch-all route comes last: the host ranks it below every other route anyway.

export const httpFunctions: readonly HttpFunctionRegistration[] = [loginFunction, redirectFunction, meFunction, proxyFunction, logoutFunction, logoutFrontChannelFunction, logoutBackChannelFunction, healthFunction, webFunction];
