// A small deterministic ray tracer, compiled to a WASI command (AssemblyScript + wasi-shim).
//
//   raytracer [--width N] [--height N] [--frame N] [--out NAME]
//   raytracer WIDTH HEIGHT FRAME
//
// Renders four spheres on a checkered plane lit by two point lights (Lambert diffuse, Blinn-Phong
// specular, hard shadows, mirror reflections up to depth 4, 2x2 supersampling). The camera
// circles the scene: frame N is 6 degrees further round than frame N-1. The image is written as
// a binary PPM (P6) to the pre-opened directory /results (default name frame.ppm); progress goes
// to stdout. Only IEEE arithmetic and AssemblyScript's own (software) Math are used, and nothing
// random, so the same arguments give the same bytes on every machine.
import { findPreopen, writeFile } from '../../lib/wasi-files'

const MAX_SIZE = 4096
const MAX_DEPTH = 4
const EPSILON = 1e-6
const SHADOW_BIAS = 1e-4

class Vec3 {
  x: f64
  y: f64
  z: f64
  constructor(x: f64, y: f64, z: f64) {
    this.x = x
    this.y = y
    this.z = z
  }
  add(other: Vec3): Vec3 {
    return new Vec3(this.x + other.x, this.y + other.y, this.z + other.z)
  }
  sub(other: Vec3): Vec3 {
    return new Vec3(this.x - other.x, this.y - other.y, this.z - other.z)
  }
  mul(other: Vec3): Vec3 {
    return new Vec3(this.x * other.x, this.y * other.y, this.z * other.z)
  }
  scale(factor: f64): Vec3 {
    return new Vec3(this.x * factor, this.y * factor, this.z * factor)
  }
  dot(other: Vec3): f64 {
    return this.x * other.x + this.y * other.y + this.z * other.z
  }
  cross(other: Vec3): Vec3 {
    return new Vec3(
      this.y * other.z - this.z * other.y,
      this.z * other.x - this.x * other.z,
      this.x * other.y - this.y * other.x,
    )
  }
  length(): f64 {
    return Math.sqrt(this.dot(this))
  }
  normalize(): Vec3 {
    return this.scale(1.0 / this.length())
  }
}

class Material {
  color: Vec3
  diffuse: f64
  specular: f64
  shininess: f64
  reflectivity: f64
  constructor(color: Vec3, diffuse: f64, specular: f64, shininess: f64, reflectivity: f64) {
    this.color = color
    this.diffuse = diffuse
    this.specular = specular
    this.shininess = shininess
    this.reflectivity = reflectivity
  }
}

class Sphere {
  center: Vec3
  radius: f64
  material: Material
  constructor(center: Vec3, radius: f64, material: Material) {
    this.center = center
    this.radius = radius
    this.material = material
  }
  /** Distance along the ray to the nearest intersection in front of the origin, or -1. */
  intersect(origin: Vec3, direction: Vec3): f64 {
    const toOrigin = origin.sub(this.center)
    const b = toOrigin.dot(direction)
    const c = toOrigin.dot(toOrigin) - this.radius * this.radius
    const discriminant = b * b - c
    if (discriminant < 0.0) return -1.0
    const root = Math.sqrt(discriminant)
    let t = -b - root
    if (t > EPSILON) return t
    t = -b + root
    return t > EPSILON ? t : -1.0
  }
}

class Light {
  position: Vec3
  intensity: f64
  constructor(position: Vec3, intensity: f64) {
    this.position = position
    this.intensity = intensity
  }
}

class Hit {
  distance: f64
  point: Vec3
  normal: Vec3
  material: Material
  constructor(distance: f64, point: Vec3, normal: Vec3, material: Material) {
    this.distance = distance
    this.point = point
    this.normal = normal
    this.material = material
  }
}

const spheres: Sphere[] = [
  new Sphere(new Vec3(0.0, 1.0, 0.0), 1.0, new Material(new Vec3(0.9, 0.9, 0.95), 0.2, 0.9, 120.0, 0.65)),
  new Sphere(new Vec3(-2.1, 0.7, 0.6), 0.7, new Material(new Vec3(0.85, 0.2, 0.15), 0.9, 0.4, 40.0, 0.1)),
  new Sphere(new Vec3(1.9, 0.55, 1.1), 0.55, new Material(new Vec3(0.15, 0.45, 0.9), 0.9, 0.6, 60.0, 0.2)),
  new Sphere(new Vec3(0.6, 0.35, 2.0), 0.35, new Material(new Vec3(0.95, 0.75, 0.2), 0.9, 0.3, 20.0, 0.0)),
]
const lights: Light[] = [new Light(new Vec3(-4.0, 6.0, 3.0), 0.8), new Light(new Vec3(5.0, 4.0, -2.0), 0.45)]
const planeDark = new Material(new Vec3(0.12, 0.12, 0.14), 0.9, 0.1, 10.0, 0.15)
const planeLight = new Material(new Vec3(0.85, 0.85, 0.8), 0.9, 0.1, 10.0, 0.15)
const up = new Vec3(0.0, 1.0, 0.0)
const AMBIENT = 0.08

/** The nearest surface the ray meets (spheres, then the plane y = 0), or null. */
function nearestHit(origin: Vec3, direction: Vec3): Hit | null {
  let best: f64 = Infinity
  let bestSphere: Sphere | null = null
  for (let i = 0; i < spheres.length; i++) {
    const sphere = spheres[i]
    const t = sphere.intersect(origin, direction)
    if (t > 0.0 && t < best) {
      best = t
      bestSphere = sphere
    }
  }
  let planeT: f64 = -1.0
  if (direction.y < -EPSILON || direction.y > EPSILON) planeT = -origin.y / direction.y
  if (planeT > EPSILON && planeT < best && planeT < 60.0) {
    const point = origin.add(direction.scale(planeT))
    const checker = (<i32>Math.floor(point.x) + <i32>Math.floor(point.z)) & 1
    return new Hit(planeT, point, up, checker === 0 ? planeDark : planeLight)
  }
  if (bestSphere === null) return null
  const sphere = changetype<Sphere>(bestSphere)
  const point = origin.add(direction.scale(best))
  return new Hit(best, point, point.sub(sphere.center).normalize(), sphere.material)
}

/** True when something lies between `point` and the light at `distance` along `direction`. */
function inShadow(point: Vec3, direction: Vec3, distance: f64): bool {
  for (let i = 0; i < spheres.length; i++) {
    const t = spheres[i].intersect(point, direction)
    if (t > 0.0 && t < distance) return true
  }
  return false
}

function sky(direction: Vec3): Vec3 {
  const blend = 0.5 * (direction.y + 1.0)
  return new Vec3(1.0, 1.0, 1.0).scale(1.0 - blend).add(new Vec3(0.45, 0.65, 1.0).scale(blend))
}

function trace(origin: Vec3, direction: Vec3, depth: i32): Vec3 {
  const found = nearestHit(origin, direction)
  if (found === null) return sky(direction)
  const hit = changetype<Hit>(found)
  const material = hit.material
  const lifted = hit.point.add(hit.normal.scale(SHADOW_BIAS))
  let diffuse: f64 = 0.0
  let specular: f64 = 0.0
  for (let i = 0; i < lights.length; i++) {
    const light = lights[i]
    const toLight = light.position.sub(hit.point)
    const distance = toLight.length()
    const lightDirection = toLight.scale(1.0 / distance)
    const facing = hit.normal.dot(lightDirection)
    if (facing <= 0.0 || inShadow(lifted, lightDirection, distance)) continue
    diffuse += facing * light.intensity
    const halfway = lightDirection.sub(direction).normalize()
    const highlight = hit.normal.dot(halfway)
    if (highlight > 0.0) specular += highlight ** material.shininess * light.intensity
  }
  let color = material.color
    .scale(AMBIENT + diffuse * material.diffuse)
    .add(new Vec3(1.0, 1.0, 1.0).scale(specular * material.specular))
  if (material.reflectivity > 0.0 && depth < MAX_DEPTH) {
    const reflected = direction.sub(hit.normal.scale(2.0 * direction.dot(hit.normal))).normalize()
    const bounce = trace(lifted, reflected, depth + 1)
    color = color.scale(1.0 - material.reflectivity).add(bounce.scale(material.reflectivity))
  }
  return color
}

/** Gamma-corrects (2.0, via sqrt) and quantizes a linear channel value to a byte. */
function toByte(value: f64): u8 {
  const clamped = value < 0.0 ? 0.0 : value > 1.0 ? 1.0 : value
  return <u8>(<i32>Math.floor(Math.sqrt(clamped) * 255.0 + 0.5))
}

function parsePositive(text: string, name: string, max: i32): i32 {
  const value = I32.parseInt(text, 10)
  if (value < 0 || value > max || (value === 0 && name !== 'frame')) {
    console.error(
      `raytracer: --${name} must be an integer in ${name === 'frame' ? 0 : 1}..${max}, got "${text}"`,
    )
    process.exit(2)
  }
  return value
}

function render(width: i32, height: i32, frame: i32, outName: string): void {
  const results = findPreopen('/results')
  if (results < 0) {
    console.error('raytracer: no /results directory is pre-opened')
    process.exit(3)
  }
  const angle = (<f64>frame * 6.0 * Math.PI) / 180.0
  const eye = new Vec3(Math.sin(angle) * 6.5, 2.4, Math.cos(angle) * 6.5)
  const target = new Vec3(0.0, 0.7, 0.0)
  const forward = target.sub(eye).normalize()
  const right = forward.cross(up).normalize()
  const cameraUp = right.cross(forward)
  const aspect = <f64>width / <f64>height
  const halfHeight = Math.tan((45.0 * Math.PI) / 360.0)
  const halfWidth = halfHeight * aspect

  const header = String.UTF8.encode(`P6\n${width} ${height}\n255\n`)
  const headerBytes = Uint8Array.wrap(header)
  const image = new Uint8Array(headerBytes.length + width * height * 3)
  image.set(headerBytes, 0)
  let offset = headerBytes.length
  let reported = 0
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = new Vec3(0.0, 0.0, 0.0)
      for (let sample = 0; sample < 4; sample++) {
        const u = ((<f64>x + 0.25 + 0.5 * <f64>(sample & 1)) / <f64>width) * 2.0 - 1.0
        const v = 1.0 - ((<f64>y + 0.25 + 0.5 * <f64>(sample >> 1)) / <f64>height) * 2.0
        const direction = forward
          .add(right.scale(u * halfWidth))
          .add(cameraUp.scale(v * halfHeight))
          .normalize()
        sum = sum.add(trace(eye, direction, 0))
      }
      image[offset++] = toByte(sum.x * 0.25)
      image[offset++] = toByte(sum.y * 0.25)
      image[offset++] = toByte(sum.z * 0.25)
    }
    const percent = ((y + 1) * 100) / height
    if (percent >= reported + 10 || y === height - 1) {
      reported = percent - (percent % 10)
      console.log(`progress ${percent}% (row ${y + 1}/${height})`)
    }
  }
  const code = writeFile(results, outName, image)
  if (code !== 0) {
    console.error(`raytracer: writing /results/${outName} failed with WASI errno ${code}`)
    process.exit(4)
  }
  console.log(`wrote /results/${outName}: ${width}x${height}, frame ${frame}, ${image.length} bytes`)
}

function main(): void {
  const argv = process.argv
  let width = 320
  let height = 240
  let frame = 0
  let outName = 'frame.ppm'
  const positional: string[] = []
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]
    if (arg.startsWith('--') && i + 1 >= argv.length) {
      console.error(`raytracer: ${arg} needs a value`)
      process.exit(2)
    }
    if (arg === '--width') width = parsePositive(argv[++i], 'width', MAX_SIZE)
    else if (arg === '--height') height = parsePositive(argv[++i], 'height', MAX_SIZE)
    else if (arg === '--frame') frame = parsePositive(argv[++i], 'frame', 1_000_000)
    else if (arg === '--out') outName = argv[++i]
    else if (arg.startsWith('--')) {
      console.error(`raytracer: unknown option ${arg} (expected --width, --height, --frame, --out)`)
      process.exit(2)
    } else positional.push(arg)
  }
  if (positional.length > 0) width = parsePositive(positional[0], 'width', MAX_SIZE)
  if (positional.length > 1) height = parsePositive(positional[1], 'height', MAX_SIZE)
  if (positional.length > 2) frame = parsePositive(positional[2], 'frame', 1_000_000)
  if (outName.length === 0 || outName.includes('/')) {
    console.error(`raytracer: --out must be a plain file name, got "${outName}"`)
    process.exit(2)
  }
  console.log(`raytracer: rendering ${width}x${height}, frame ${frame}`)
  render(width, height, frame, outName)
}

main()
