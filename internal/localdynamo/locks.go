package localdynamo

import (
	"hash/fnv"
	"slices"
	"sync"
)

// partitionLocks isolates the sharded server's transactions by partition
// key. A transaction holds its items' partitions exclusively while it
// applies and, on a failed condition, undoes them; a single-item request,
// a batch's sub-request or a table query holds the partitions it touches
// shared. So no request of those sees a transaction half applied, as in
// DynamoDB, while a transaction over a hundred places and a hold on
// unrelated seats do not wait for each other (locking whole shards made
// them: a 100-item transaction held most of 64 shards).
//
// Partitions are hashed onto a fixed set of stripes; two partitions that
// share one only wait for each other. Every holder takes its stripes in
// ascending order, so none can deadlock.
type partitionLocks struct {
	stripes [partitionStripes]sync.RWMutex
}

const partitionStripes = 4096

// of is the stripe of a table's partition key value (nil: stripe 0).
func (l *partitionLocks) of(table string, pk raw) uint32 {
	key, err := partitionString(pk)
	if err != nil {
		key = string(pk)
	}
	h := fnv.New32a()
	h.Write([]byte(table))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return h.Sum32() % partitionStripes
}

// shared holds the stripes shared until the returned func is called.
func (l *partitionLocks) shared(stripes []uint32) (unlock func()) {
	s := ordered(stripes)
	for _, i := range s {
		l.stripes[i].RLock()
	}
	return func() {
		for _, i := range s {
			l.stripes[i].RUnlock()
		}
	}
}

// exclusive holds the stripes exclusively until the returned func is
// called.
func (l *partitionLocks) exclusive(stripes []uint32) (unlock func()) {
	s := ordered(stripes)
	for _, i := range s {
		l.stripes[i].Lock()
	}
	return func() {
		for _, i := range s {
			l.stripes[i].Unlock()
		}
	}
}

// ordered is the stripes once each, ascending.
func ordered(stripes []uint32) []uint32 {
	s := slices.Clone(stripes)
	slices.Sort(s)
	return slices.Compact(s)
}
