package inventory

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/stararena/stararena/internal/catalog"
)

// spread is how many of the best candidate blocks a best-available request
// chooses among. If every fan asked for "the" best block, a thousand
// simultaneous requests would collide on it and 999 would retry; picking at
// random among the best few dozen (leaning towards the better ones) spreads
// the same burst over many blocks, so most first attempts succeed while the
// seats handed out stay near the front. A retry widens the choice.
const spread = 32

// sectionIndex maps seat ids of a reserved section to their position in
// venue order (the projection's byte order) and back.
type sectionIndex struct {
	sec    *catalog.Section
	offset []int // first seat position of each row
}

func newSectionIndex(sec *catalog.Section) *sectionIndex {
	ix := &sectionIndex{sec: sec, offset: make([]int, len(sec.Rows))}
	pos := 0
	for i, r := range sec.Rows {
		ix.offset[i] = pos
		pos += r.Seats
	}
	return ix
}

// pos returns a seat id's position, or -1.
func (ix *sectionIndex) pos(id string) int {
	ref, ok := parseSeat(id)
	if !ok || ref.section != ix.sec.ID {
		return -1
	}
	for i, r := range ix.sec.Rows {
		if r.ID == ref.row && ref.number <= r.Seats {
			return ix.offset[i] + ref.number - 1
		}
	}
	return -1
}

// id returns the seat id at row i, seat n (1-based).
func (ix *sectionIndex) id(row, n int) string {
	return catalog.SeatID(ix.sec.ID, ix.sec.Rows[row].ID, n)
}

// bestAvailable picks n seats from the projection's states (one byte per
// seat in venue order, 'A' = available), skipping excluded positions. It
// prefers n adjacent seats in one row, rows from the front, blocks near the
// row's centre; without such a block anywhere it takes the best n single
// seats. It returns nil when fewer than n seats look free. Work stops at the
// first rows that yield enough candidates, so a 20,000-seat section costs
// a few rows' scan, not the whole map.
func bestAvailable(ix *sectionIndex, states string, n int, excluded map[int]bool, widen int, rng *rand.Rand) []string {
	type block struct {
		row, start int // start: 1-based seat number
		score      float64
	}
	want := min(spread<<min(widen, 4), 512)
	free := func(p int) bool { return p < len(states) && states[p] == 'A' && !excluded[p] }
	var blocks []block
	for ri, r := range ix.sec.Rows {
		if len(blocks) >= want {
			break // every later row scores worse than what we have
		}
		centre := float64(r.Seats+1) / 2
		run := 0
		for s := 1; s <= r.Seats; s++ {
			if !free(ix.offset[ri] + s - 1) {
				run = 0
				continue
			}
			run++
			if run >= n {
				start := s - n + 1
				mid := float64(start+s) / 2
				blocks = append(blocks, block{row: ri, start: start, score: float64(ri)*1000 + math.Abs(mid-centre)})
			}
		}
	}
	if len(blocks) > 0 {
		sort.Slice(blocks, func(i, j int) bool { return blocks[i].score < blocks[j].score })
		k := min(want, len(blocks))
		// u^1.5 leans the pick towards the better blocks of the top k.
		b := blocks[int(math.Pow(rng.Float64(), 1.5)*float64(k))]
		out := make([]string, n)
		for i := range n {
			out[i] = ix.id(b.row, b.start+i)
		}
		return out
	}
	// No n adjacent seats anywhere: the best single seats.
	type single struct {
		row, n int
		score  float64
	}
	var singles []single
	for ri, r := range ix.sec.Rows {
		centre := float64(r.Seats+1) / 2
		for s := 1; s <= r.Seats; s++ {
			if free(ix.offset[ri] + s - 1) {
				singles = append(singles, single{ri, s, float64(ri)*1000 + math.Abs(float64(s)-centre)})
			}
		}
	}
	if len(singles) < n {
		return nil
	}
	sort.Slice(singles, func(i, j int) bool { return singles[i].score < singles[j].score })
	pool := singles[:min(len(singles), n*4)]
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	out := make([]string, n)
	for i := range n {
		out[i] = ix.id(pool[i].row, pool[i].n)
	}
	return out
}
