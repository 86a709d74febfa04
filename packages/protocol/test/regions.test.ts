import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  isRegionName,
  maskAllowsRegion,
  regionCode,
  regionMask,
  regionName,
  regions,
  regionsFromMask,
  toRegionCode,
  UnknownRegionError,
} from '../src/index.ts'

describe('regions', () => {
  test('the table holds codes 0..31 once each, with unique lowercase names', () => {
    assert.equal(regions.length, 32)
    regions.forEach((region, index) => {
      assert.equal(region.code, index)
      assert.match(region.name, /^[a-z]+(-[a-z]+)?$/)
    })
    assert.equal(new Set(regions.map((region) => region.name)).size, 32)
  })

  test('names and codes convert both ways', () => {
    for (const region of regions) {
      assert.equal(regionCode(region.name), region.code)
      assert.equal(regionName(region.code), region.name)
      assert.ok(isRegionName(region.name))
    }
    assert.equal(regionCode(' EU-West '), regionCode('eu-west'))
    assert.ok(['us-east', 'eu-west', 'ap-south'].every(isRegionName))
  })

  test('unknown regions throw with a suggestion and the list', () => {
    assert.throws(
      () => regionCode('eu-wst'),
      (error: unknown) =>
        error instanceof UnknownRegionError &&
        error.shortMessage === '"eu-wst" is not a region. Did you mean "eu-west"?' &&
        error.message.includes('ap-south'),
    )
    assert.throws(
      () => regionCode('mars'),
      (error: unknown) =>
        error instanceof UnknownRegionError && error.shortMessage === '"mars" is not a region.',
    )
    for (const code of [-1, 32, 1.5, Number.NaN]) assert.throws(() => regionName(code), UnknownRegionError)
    assert.throws(() => toRegionCode(40), UnknownRegionError)
  })

  test('regionMask sets one bit per region and regionsFromMask inverts it', () => {
    assert.equal(regionMask([]), 0)
    assert.equal(regionMask(['us-east']), 1)
    assert.equal(regionMask(['eu-west', 'eu-west']), 1 << regionCode('eu-west'))
    assert.equal(regionMask(['space']), 0x8000_0000, 'bit 31 stays an unsigned 32-bit value')
    assert.equal(regionMask([0, 'us-central']), 0b11)
    const everything = regionMask(regions.map((region) => region.name))
    assert.equal(everything, 0xffff_ffff)
    // Every subset round trips: walk a few hundred pseudo-random masks.
    let mask = 0x1234_5678
    for (let i = 0; i < 500; i++) {
      mask = (Math.imul(mask, 1_103_515_245) + 12_345) >>> 0
      const names = regionsFromMask(mask)
      assert.equal(regionMask(names), mask)
      for (const region of regions) {
        assert.equal(maskAllowsRegion(mask, region.code), names.includes(region.name))
      }
    }
    assert.equal(regionsFromMask(0).length, 32, 'a zero mask allows every region')
    assert.ok(maskAllowsRegion(0, 17))
    assert.throws(() => regionsFromMask(-1), RangeError)
    assert.throws(() => regionMask(['nowhere']), UnknownRegionError)
  })
})
