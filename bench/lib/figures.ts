// The one place benchmarks write their figures: one JSON line per figure in
// bench/results/latest.jsonl (git-ignored), so a script or CI job can compare runs and goals.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * A measured figure. `goal` says what the figure should reach, as an operator and a number in
 * the figure's unit (`">= 1"`, `"<= 300"`), or null for a figure shown for context.
 */
export type Figure = {
  name: string
  value: number
  unit: string
  goal: string | null
}

/** bench/results/latest.jsonl, or the file named by STOA_BENCH_RESULTS (tests write elsewhere). */
export function figuresPath(): string {
  return (
    process.env.STOA_BENCH_RESULTS ??
    path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'results', 'latest.jsonl')
  )
}

/** Appends one figure as a JSON line, creating the folder and file when needed. */
export function recordFigure(figure: Figure): void {
  const file = figuresPath()
  mkdirSync(path.dirname(file), { recursive: true })
  const { name, value, unit, goal } = figure
  appendFileSync(file, `${JSON.stringify({ name, value, unit, goal })}\n`)
}

/** Empties the figures file: a run of every benchmark starts with this, so "latest" is one run. */
export function clearFigures(): void {
  const file = figuresPath()
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, '')
}

/** Whether `value` meets `goal` (`">= x"`, `"> x"`, `"<= x"`, `"< x"`); true when there is no goal. */
export function meetsGoal(value: number, goal: string | null): boolean {
  if (goal === null) return true
  const match = /^\s*(>=|<=|>|<)\s*(-?[\d.]+(?:e[+-]?\d+)?)\s*$/i.exec(goal)
  if (!match) throw new Error(`cannot read the goal ${JSON.stringify(goal)}`)
  const target = Number(match[2])
  switch (match[1]) {
    case '>=':
      return value >= target
    case '<=':
      return value <= target
    case '>':
      return value > target
    default:
      return value < target
  }
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}
