// Test fixture: allocates memory until the runtime refuses more, keeping every block alive.
const blocks: Uint8Array[] = []
for (let mib = 1; ; mib++) {
  const block = new Uint8Array(1 << 20)
  block[mib & 0xfffff] = 1
  blocks.push(block)
  if (mib % 16 === 0) console.log(`holding ${mib} MiB`)
}
