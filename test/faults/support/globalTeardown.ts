import { formatFigures, readFigures } from './figures';

/** The figures of the whole run, as one table (for the closing note of the issue). */
export default function globalTeardown(): void {
  const figures = readFigures();
  if (figures.length > 0) process.stdout.write(`\n${formatFigures(figures)}\n\n`);
}
