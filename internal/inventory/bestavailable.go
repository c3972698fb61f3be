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
// random among the best few dozen (biased towards the better ones) spreads
// the same burst over many blocks, so most first attempts succeed while the
// seats handed out stay near the front.
const spread = 32

// bestAvailable picks n seats of a reserved section from the projection's
// states (one byte per seat in venue order, 'A' = available), skipping
// excluded seats. It prefers n adjacent seats in one row, rows from the
// front, blocks near the row's centre; without such a block it takes the
// best n single seats. It returns nil when fewer than n seats look free.
func bestAvailable(sec *catalog.Section, states string, n int, excluded map[string]bool, widen int, rng *rand.Rand) []string {
	type block struct {
		seats []string
		score float64
	}
	var blocks []block
	var singles []block
	offset := 0
	for rowIdx, row := range sec.Rows {
		free := make([]bool, row.Seats)
		for i := range free {
			id := catalog.SeatID(sec.ID, row.ID, i+1)
			free[i] = offset+i < len(states) && states[offset+i] == 'A' && !excluded[id]
		}
		centre := float64(row.Seats+1) / 2
		run := 0
		for i := range free {
			if !free[i] {
				run = 0
				continue
			}
			run++
			dist := abs(float64(i+1) - centre)
			singles = append(singles, block{seats: []string{catalog.SeatID(sec.ID, row.ID, i+1)}, score: float64(rowIdx)*1000 + dist})
			if run >= n {
				start := i - n + 1
				ids := make([]string, n)
				for k := range n {
					ids[k] = catalog.SeatID(sec.ID, row.ID, start+k+1)
				}
				mid := float64(start+1+i+1) / 2
				blocks = append(blocks, block{seats: ids, score: float64(rowIdx)*1000 + abs(mid-centre)})
			}
		}
		offset += row.Seats
	}
	if len(blocks) > 0 {
		sort.Slice(blocks, func(i, j int) bool { return blocks[i].score < blocks[j].score })
		// A retry widens the choice: its first aim was contested.
		k := min(spread<<min(widen, 4), len(blocks))
		// u^1.5 leans the pick towards the better blocks of the top k.
		u := rng.Float64()
		return blocks[int(math.Pow(u, 1.5)*float64(k))].seats
	}
	if len(singles) < n {
		return nil
	}
	sort.Slice(singles, func(i, j int) bool { return singles[i].score < singles[j].score })
	pool := singles[:min(len(singles), n*4)]
	rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	out := make([]string, n)
	for i := range n {
		out[i] = pool[i].seats[0]
	}
	return out
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
