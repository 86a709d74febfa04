/** Compute resources in the units of `Market.createOrder`: millicores and MiB. */
export type Resources = {
  cpuMillis: number
  memoryMiB: number
  storageMiB: number
  gpus: number
}

export const resourceKeys = ['cpuMillis', 'memoryMiB', 'storageMiB', 'gpus'] as const

export const noResources: Resources = { cpuMillis: 0, memoryMiB: 0, storageMiB: 0, gpus: 0 }

export function addResources(a: Resources, b: Resources): Resources {
  return {
    cpuMillis: a.cpuMillis + b.cpuMillis,
    memoryMiB: a.memoryMiB + b.memoryMiB,
    storageMiB: a.storageMiB + b.storageMiB,
    gpus: a.gpus + b.gpus,
  }
}

/** `a − b`, never below zero. */
export function subtractResources(a: Resources, b: Resources): Resources {
  return {
    cpuMillis: Math.max(0, a.cpuMillis - b.cpuMillis),
    memoryMiB: Math.max(0, a.memoryMiB - b.memoryMiB),
    storageMiB: Math.max(0, a.storageMiB - b.storageMiB),
    gpus: Math.max(0, a.gpus - b.gpus),
  }
}

/** The resources of `wanted` that exceed `available` (empty when it fits). */
export function shortfall(wanted: Resources, available: Resources): (typeof resourceKeys)[number][] {
  return resourceKeys.filter((key) => wanted[key] > available[key])
}

export function fits(wanted: Resources, available: Resources): boolean {
  return shortfall(wanted, available).length === 0
}
