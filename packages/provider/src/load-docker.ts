import type { createDockerRuntime } from './runtime/docker.ts'

/**
 * The Docker runtime's factory, imported on first use: the Docker client (dockerode and its gRPC,
 * SSH and protobuf dependencies) costs ~25 MB of memory that a WASM-only daemon never needs.
 *
 * @example
 * const createDockerRuntime = await loadDockerRuntime()
 * const docker = createDockerRuntime({ dataDir, providerId })
 */
export async function loadDockerRuntime(): Promise<typeof createDockerRuntime> {
  return (await import('./runtime/docker.ts')).createDockerRuntime
}
