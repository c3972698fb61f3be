package orders_test

import (
	"testing"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/testenv"
)

// freeSeat puts a sold seat back on sale between race rounds (as an
// organizer's manual release would); the limit is per account and each
// round uses a new one.
func (w *world) freeSeat(t *testing.T, seat string) {
	t.Helper()
	testenv.SetSeat(t, w.DB, w.Config.TableName, w.ev.ID, seat, catalog.SeatAvailable, "")
}
