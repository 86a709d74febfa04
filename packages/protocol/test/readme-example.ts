import {
  contractErrorMessages,
  formatCredits,
  marketAbi,
  parseCredits,
  pricePerSecondToUsdPerHour,
  regionMask,
  regionsFromMask,
  usdPerHourToPricePerSecond,
} from '@stoa/protocol'

// Credits are USD with 6 decimals; amounts are exact bigints.
console.log(parseCredits('12.50')) // → 12500000n
console.log(formatCredits(1_234_567n)) // → 1.234567

// Compute prices are 1e-12 USD per second.
const price = usdPerHourToPricePerSecond('0.25') // rounds to the nearest unit
console.log(price) // → 69444444n
console.log(pricePerSecondToUsdPerHour(price)) // → 0.2499999984

// Orders allow regions by a 32-bit mask.
const mask = regionMask(['eu-west', 'eu-central'])
console.log(mask, regionsFromMask(mask)) // → 768 [ 'eu-west', 'eu-central' ]

// Every contract error has a sentence, with its values filled in.
console.log(contractErrorMessages.MarketBidAbovePrice([7n, 2_000_000_000n, 1_000_000_000n])) // → A bid of $7.2/h is above order 7's maximum of $3.6/h.
console.log(marketAbi.some((item) => item.type === 'function' && item.name === 'createOrder')) // → true
