package redact

import (
	"bytes"
	"encoding/binary"
)

// maxIndexSearches is how many secrets are searched for one by one with bytes.Index (vectorised).
// Above it, multiIndex finds them all in one pass, at a cost per byte that does not grow with their
// number. Measured on log-like text (BenchmarkMaskerWriter): bytes.Index wins only for a single
// secret; with three it already drops to ~0.6 GB/s when their first bytes are common letters,
// where multiIndex keeps ~2.5 GB/s.
const maxIndexSearches = 1

// filterBits sizes multiIndex's gram filters: 2^18 bits, 32 KiB each, which stay in cache.
const filterBits = 18

// multiIndex finds many secrets in one pass by sampling. Let W be the shortest secret's length and
// G = min(4, W) the gram length. Every occurrence of a secret starting in a block of S = W-G+1
// consecutive positions [a, a+S) contains the G bytes at a+W-G, at an offset 0..W-G of its first W
// bytes. So the search reads one gram per block, looks it up in a filter holding every gram of
// every secret's first W bytes, and only on a hit checks the S starts of that block (first against a
// filter of the secrets' first grams, then exactly). With W = 6
// that is one lookup per 3 bytes; with 40-byte tokens, one per 37.
type multiIndex struct {
	window  int // W
	gram    int // G
	filter  [1 << filterBits / 64]uint64
	first   [1 << filterBits / 64]uint64 // the same for the first gram of each secret only
	buckets map[uint64][]int             // hash of a secret's first W bytes → secrets, longest first
}

func newMultiIndex(secrets [][]byte) *multiIndex {
	w := len(secrets[len(secrets)-1]) // secrets are sorted longest first
	mi := &multiIndex{window: w, gram: min(4, w), buckets: make(map[uint64][]int)}
	for k, s := range secrets {
		h := hashOf(s[:w])
		mi.buckets[h] = append(mi.buckets[h], k)
		f := mi.slot(s)
		mi.first[f/64] |= 1 << (f % 64)
		for off := 0; off+mi.gram <= w; off++ {
			f := mi.slot(s[off:])
			mi.filter[f/64] |= 1 << (f % 64)
		}
	}
	return mi
}

// slot is the filter position of the gram at the start of b.
func (mi *multiIndex) slot(b []byte) uint32 {
	var g uint32
	if mi.gram == 4 {
		g = binary.LittleEndian.Uint32(b)
	} else {
		for i := range mi.gram {
			g |= uint32(b[i]) << (8 * i)
		}
	}
	return (g * 0x9E3779B1) >> (32 - filterBits)
}

func hashOf(b []byte) uint64 {
	h := uint64(14695981039346656037) // FNV-1a
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// find returns the leftmost start in [from, limit) where a secret occurs wholly within buf, and the
// longest secret there; (-1, -1) when there is none.
func (mi *multiIndex) find(buf []byte, from, limit int, secrets [][]byte) (int, int) {
	w, g := mi.window, mi.gram
	step := w - g + 1
	limit = min(limit, len(buf)-w+1) // a start past this leaves no room for any secret
	for a := from; a < limit; a += step {
		q := a + w - g
		f := mi.slot(buf[q:])
		if mi.filter[f>>6]&(1<<(f&63)) == 0 {
			continue
		}
		for c := a; c < min(a+step, limit); c++ {
			if f := mi.slot(buf[c:]); mi.first[f>>6]&(1<<(f&63)) == 0 {
				continue
			}
			for _, k := range mi.buckets[hashOf(buf[c:c+w])] {
				if bytes.HasPrefix(buf[c:], secrets[k]) {
					return c, k
				}
			}
		}
	}
	return -1, -1
}
