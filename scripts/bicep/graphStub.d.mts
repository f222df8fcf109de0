/** Bicep source of a module with the parameters and outputs of `source`, and nothing else. */
export function graphModuleStub(source: string): string;
