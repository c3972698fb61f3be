package clock

import (
	"testing"
	"time"
)

func TestOffsetRunsWithTheWallClockPlusWhatWasAdded(t *testing.T) {
	var o Offset
	before := time.Now()
	o.Advance(time.Hour)
	got := o.Now()
	if got.Before(before.Add(time.Hour)) || got.After(time.Now().Add(time.Hour)) {
		t.Fatalf("Now() = %v, want between %v and %v", got, before.Add(time.Hour), time.Now().Add(time.Hour))
	}
	if got.Location() != time.UTC {
		t.Fatalf("Now() in %v, want UTC", got.Location())
	}
}
