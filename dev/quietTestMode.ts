// Imported first by dev/start: outside the Functions host, @azure/functions warns once per
// function that it registers nothing. The local host serves them itself, so the warning misleads.
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  const first = typeof args[0] === 'string' ? args[0] : '';
  if (first.includes('package is in test mode') || first.includes('Failed to detect the Azure Functions runtime')) return;
  warn(...args);
};
export {};
const debug = console.debug.bind(console);
console.debug = (...args: unknown[]) => {
  if (args[0] === 'HTTP streaming enabled.') return;
  debug(...args);
};
