import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { ConfigurationError, describeForLog } from '../../shared/errors';
import { ProblemError, configurationProblem, problems } from '../../shared/problems';
import { REQUEST_DEADLINE_MS, runWithDeadline } from '../../shared/deadline';
import { problem } from './responses';

export type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/**
 * Every function's outer layer: a deadline well inside the host's 230 s, known failures become their problem, a configuration error
 * 503 naming the setting, anything else is our own bug: 500 `internal_error`, never blamed on a
 * dependency, whose answer says nothing about its cause (the log line names the code and the
 * error's type, never its message, which might quote a token).
 */
export function handleErrors(handler: Handler): Handler {
  return async (request, context) => {
    try {
      return await runWithDeadline(REQUEST_DEADLINE_MS, () => handler(request, context));
    } catch (error) {
      if (error instanceof ProblemError) {
        if (error.status >= 500) context.warn(`${context.functionName}: ${describeForLog(error)}`);
        return problem(error, request);
      }
      if (error instanceof ConfigurationError) {
        context.error(error.message);
        return problem(configurationProblem(error), request);
      }
      const internal = problems.internal_error();
      context.error(`${context.functionName}: ${describeForLog(internal)}: unexpected ${describeForLog(error)}`);
      return problem(internal, request);
    }
  };
}
