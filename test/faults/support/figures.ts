import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { FIGURES_FILE } from './paths';

/** One measured outcome: what failed, what the caller got, how long it took, and the bound it was held to. */
export interface Figure {
  readonly table: 'time to answer' | 'stampede';
  readonly what: string;
  readonly answer: string;
  readonly ms?: number;
  readonly boundMs?: number;
}

/** Kept for the table printed at the end of the run (test files run in other workers). */
export function recordFigure(figure: Figure): void {
  appendFileSync(FIGURES_FILE, `${JSON.stringify(figure)}\n`);
}

export function readFigures(): Figure[] {
  if (!existsSync(FIGURES_FILE)) return [];
  return readFileSync(FIGURES_FILE, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Figure);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`).join('\n');
}

export function formatFigures(figures: readonly Figure[]): string {
  const out: string[] = [];
  const timed = figures.filter((f) => f.table === 'time to answer');
  if (timed.length > 0) {
    out.push('Fault suite: time to the answer with a dependency failing', '');
    out.push(table([['dependency (fault)', 'answer', 'ms', 'bound ms'], ...timed.map((f) => [f.what, f.answer, String(f.ms ?? ''), String(f.boundMs ?? '')])]));
  }
  const stampede = figures.filter((f) => f.table === 'stampede');
  if (stampede.length > 0) {
    out.push('', 'Fault suite: refresh stampede (one account, access token expired)', '');
    out.push(table([['round', 'calls / errors / provider refreshes'], ...stampede.map((f) => [f.what, f.answer])]));
  }
  return out.join('\n');
}
