import type { ReactElement } from 'react'
import { CartesianGrid, ComposedChart, Legend, Line, Tooltip, XAxis, YAxis } from 'recharts'
import { clock, dateTime } from '../format.ts'

/**
 * Time series drawn with recharts (SVG, so tests can read them). Each chart sits in a box with a
 * `data-testid` and a fixed height; its width follows the box (recharts' `responsive`), so the
 * same chart fits a laptop and a phone.
 */

export type SeriesSpec<row> = {
  key: keyof row & string
  name: string
  color: string
  /** Which value axis: left (default) or right. */
  axis?: 'left' | 'right'
  /** `step` for running totals (they change at an event and hold), `linear` else. */
  curve?: 'stepAfter' | 'linear' | 'monotone'
  /** Dots only, no line (offers, one-off events). */
  dotsOnly?: boolean
  /** Draw a marker only where this returns true, with this test id (e.g. burns). */
  marker?: { when: (row: row) => boolean; testId: string; color?: string } | undefined
}

export function TimeChart<row extends { time: number }>(props: {
  testId: string
  data: readonly row[]
  series: readonly SeriesSpec<row>[]
  format: (value: number) => string
  rightFormat?: ((value: number) => string) | undefined
  height?: number
  /** Extra attributes on the box (`data-*`), for tests and people reading the DOM. */
  attributes?: Record<`data-${string}`, string>
  label: string
}) {
  const hasRight = props.series.some((series) => series.axis === 'right')
  const format = (value: unknown, axis: 'left' | 'right') =>
    typeof value === 'number'
      ? (axis === 'right' && props.rightFormat ? props.rightFormat : props.format)(value)
      : String(value)
  return (
    <figure className="chart" data-testid={props.testId} aria-label={props.label} {...props.attributes}>
      <ComposedChart
        responsive
        style={{ width: '100%', height: props.height ?? 260 }}
        data={props.data as row[]}
        margin={{ top: 8, right: hasRight ? 4 : 28, bottom: 4, left: 4 }}
      >
        <CartesianGrid strokeDasharray="3 3" className="chart-grid" />
        <XAxis
          dataKey="time"
          type="number"
          domain={['dataMin', 'dataMax']}
          tickCount={6}
          tickFormatter={(value: number) => clock(value)}
          minTickGap={40}
          fontSize={11}
        />
        <YAxis
          yAxisId="left"
          tickFormatter={(value: number) => props.format(value)}
          width={72}
          fontSize={11}
        />
        {hasRight ? (
          <YAxis
            yAxisId="right"
            orientation="right"
            tickFormatter={(value: number) => format(value, 'right')}
            width={72}
            fontSize={11}
          />
        ) : null}
        <Tooltip
          contentStyle={{ background: 'var(--panel)', borderColor: 'var(--border)', borderRadius: 8 }}
          labelFormatter={(value) => (typeof value === 'number' ? dateTime(value) : String(value))}
          formatter={(value, name, item) => {
            const spec = props.series.find((series) => series.key === item.dataKey)
            return [format(value, spec?.axis ?? 'left'), name]
          }}
        />
        <Legend wrapperStyle={{ fontSize: 12 }} />
        {props.series.map((series) => (
          <Line
            key={series.key}
            yAxisId={series.axis ?? 'left'}
            dataKey={series.key}
            name={series.name}
            type={series.curve ?? 'linear'}
            stroke={series.color}
            strokeWidth={series.dotsOnly ? 0 : 2}
            connectNulls={!series.dotsOnly}
            legendType={series.dotsOnly ? 'circle' : 'line'}
            isAnimationActive={false}
            dot={dotFor(series)}
            activeDot={{ r: 4 }}
          />
        ))}
      </ComposedChart>
    </figure>
  )
}

type DotProps = { cx?: number | undefined; cy?: number | undefined; payload?: unknown; index?: number }

function dotFor<row>(series: SeriesSpec<row>): boolean | ((props: DotProps) => ReactElement | null) {
  if (series.dotsOnly) return (props) => plainDot(props, series.color, 3)
  const { marker } = series
  if (!marker) return false
  return (props) => {
    if (props.cx === undefined || props.cy === undefined || !marker.when(props.payload as row)) return null
    return (
      <circle
        data-testid={marker.testId}
        className="chart-marker"
        cx={props.cx}
        cy={props.cy}
        r={4}
        fill={marker.color ?? series.color}
        stroke="white"
        strokeWidth={1}
      />
    )
  }
}

function plainDot(props: DotProps, color: string, r: number): ReactElement | null {
  if (props.cx === undefined || props.cy === undefined || Number.isNaN(props.cy)) return null
  return <circle cx={props.cx} cy={props.cy} r={r} fill={color} fillOpacity={0.55} />
}

/**
 * A running total holds until the next event: repeat the last row at `now` (the head block's
 * time) so the line reaches the present, and so one event alone still draws a line. `reset`
 * clears per-event fields (markers) on the added row.
 */
export function extendToNow<row extends { time: number }>(
  rows: readonly row[],
  now: number | undefined,
  reset?: Partial<row>,
): row[] {
  const last = rows[rows.length - 1]
  if (!last || now === undefined || now <= last.time) return [...rows]
  return [...rows, { ...last, ...reset, time: now }]
}
