/**
 * The parts of an OpenID Connect `claims` request (Core 5.5) that Entra acts on and the dev
 * provider imitates: authentication contexts asked for in `access_token.acrs` (a step-up the
 * user must do interactively) and client capabilities in `access_token.xms_cc` (`cp1`: the
 * client handles claims challenges, so tokens say so and APIs may challenge it).
 */
export interface ClaimsRequest {
  readonly acrs: string[];
  readonly capabilities: string[];
}

function values(entry: unknown): string[] {
  if (typeof entry !== 'object' || entry === null) return [];
  const { value, values: many } = entry as { value?: unknown; values?: unknown };
  const all = [...(Array.isArray(many) ? many : []), ...(value === undefined ? [] : [value])];
  return all.filter((v): v is string => typeof v === 'string');
}

export function parseClaimsRequest(value: string | undefined): ClaimsRequest {
  if (!value) return { acrs: [], capabilities: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { acrs: [], capabilities: [] };
  }
  const accessToken = (parsed as { access_token?: Record<string, unknown> } | null)?.access_token ?? {};
  return { acrs: values(accessToken['acrs']), capabilities: values(accessToken['xms_cc']) };
}

/** Entra's answer to a silent request for an authentication context the session lacks: interaction, with the claims to ask for. */
export function missingAuthContext(requested: readonly string[], held: readonly string[] | undefined): string[] {
  return requested.filter((context) => !(held ?? []).includes(context));
}
