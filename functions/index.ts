import { app } from '@azure/functions';
import type { HttpFunctionRegistration } from './registration';
import { loginFunction } from './login';
import { redirectFunction } from './redirect';
import { meFunction } from './me';
import { proxyFunction } from './proxy';
import { logoutFunction } from './logout';
import { healthFunction } from './health';

// Proxied answers are streamed, not buffered.
app.setup({ enableHttpStream: true });

export const httpFunctions: readonly HttpFunctionRegistration[] = [loginFunction, redirectFunction, meFunction, proxyFunction, logoutFunction, healthFunction];
