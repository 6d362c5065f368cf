package matcher

import (
	"math/bits"
	"slices"
)

// sortPostings sorts xs, whose values are below 1<<maxBits, using tmp as scratch space, and
// returns the sorted slice (xs or tmp) and the other one. The postings of an item are a few
// hundred random numbers: a radix sort does not mispredict a branch per comparison as a
// comparison sort does.
func sortPostings(xs, tmp []uint32, maxBits int) (sorted, scratch []uint32) {
	if len(xs) < 64 {
		slices.Sort(xs)
		return xs, tmp
	}
	tmp = slices.Grow(tmp[:0], len(xs))[:len(xs)]
	for shift := 0; shift < maxBits; shift += 8 {
		var count [257]int
		for _, x := range xs {
			count[(x>>shift)&0xff+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, x := range xs {
			d := (x >> shift) & 0xff
			tmp[count[d]] = x
			count[d]++
		}
		xs, tmp = tmp, xs
	}
	return xs, tmp
}

// postingBits is the number of bits of the largest posting of n rules.
func postingBits(n int) int { return bits.Len32(uint32(n)<<2 | 3) }
