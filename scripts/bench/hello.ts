// The reference for `npm run bench:cold`: a minimal v4 app, built as the app's bundle is.
import { app } from '@azure/functions';

app.setup({ enableHttpStream: true });
app.http('hello', { route: 'hello', methods: ['GET'], authLevel: 'anonymous', handler: async () => ({ status: 200, body: 'hello' }) });
