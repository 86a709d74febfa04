// Test fixture: never ends. A counter in a global keeps the optimizer from removing the loop.
let turns: u64 = 0
console.log('spinning forever')
while (turns !== u64.MAX_VALUE) turns += 1
console.log(`unreachable: ${turns}`)
