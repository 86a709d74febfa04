import { geoGraticule10, geoNaturalEarth1, geoPath } from 'd3-geo'
import { feature } from 'topojson-client'
import type { GeometryCollection, Topology } from 'topojson-specification'
import landTopology from 'world-atlas/land-110m.json'
import { href } from '../router.ts'

/**
 * Providers on a world map drawn from Natural Earth's 1:110m land outline (world-atlas, bundled):
 * no tile server, so it works offline. Markers sit at each provider's registered lat/lon.
 */

const WIDTH = 960
const HEIGHT = 500

const topology = landTopology as unknown as Topology<{ land: GeometryCollection }>
const land = feature(topology, topology.objects.land)
const projection = geoNaturalEarth1().fitExtent(
  [
    [8, 8],
    [WIDTH - 8, HEIGHT - 8],
  ],
  { type: 'Sphere' },
)
const path = geoPath(projection)
// Computed once: the outline never changes, only the markers do.
const spherePath = path({ type: 'Sphere' }) ?? ''
const graticulePath = path(geoGraticule10()) ?? ''
const landPath = path(land) ?? ''

export type MapMarker = {
  address: string
  label: string
  latitude: number
  longitude: number
  tone: 'good' | 'warn' | 'bad'
  detail: string
}

export function WorldMap(props: { markers: readonly MapMarker[] }) {
  return (
    <svg
      className="world-map"
      data-testid="world-map"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={`World map with ${props.markers.length} provider${props.markers.length === 1 ? '' : 's'}`}
    >
      <path className="map-sphere" d={spherePath} />
      <path className="map-graticule" d={graticulePath} />
      <path className="map-land" d={landPath} />
      {props.markers.map((marker) => {
        const point = projection([marker.longitude, marker.latitude])
        if (!point) return null
        const [x, y] = point
        return (
          <a key={marker.address} href={href.provider(marker.address)} aria-label={marker.label}>
            <g
              className={`map-provider map-provider-${marker.tone}`}
              data-testid="map-provider"
              data-address={marker.address}
              transform={`translate(${x.toFixed(1)} ${y.toFixed(1)})`}
            >
              <title>{`${marker.label}\n${marker.detail}`}</title>
              <circle className="map-provider-halo" r={11} />
              <circle className="map-provider-dot" r={5} />
              <text className="map-provider-label" x={8} y={-8}>
                {marker.label}
              </text>
            </g>
          </a>
        )
      })}
    </svg>
  )
}
