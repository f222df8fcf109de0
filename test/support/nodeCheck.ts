import { nodeVersionProblem } from '../../dev/nodeVersion';

/** jest's global setup: one clear message instead of a hundred failures on too old a Node. */
export default function nodeCheck(): void {
  const problem = nodeVersionProblem();
  if (problem) throw new Error(problem);
}
