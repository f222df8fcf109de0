import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { ConfigurationError, ProblemError, configurationProblem, describeForLog } from '../../shared/errors';
import { problem } from './responses';

export type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/**
 * Every function's outer layer: known failures become their problem, a configuration error
 * 503 naming the setting, anything else a 500 that says nothing about its cause (the log
 * line names the error's type, never its message, which might quote a token).
 */
export function handleErrors(handler: Handler): Handler {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error) {
      if (error instanceof ProblemError) {
        if (error.status >= 500) context.warn(`${context.functionName}: ${describeForLog(error)}`);
        return problem(error, request);
      }
      if (error instanceof ConfigurationError) {
        context.error(error.message);
        return problem(configurationProblem(error), request);
      }
      context.error(`${context.functionName}: unexpected ${describeForLog(error)}`);
      return problem(new ProblemError(500, 'internal_error', 'Something went wrong'), request);
    }
  };
}
