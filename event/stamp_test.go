package event

import "testing"

// TestHold checks that Hold reports the first holder and Release the last, over two rounds.
func TestHold(t *testing.T) {
	var e Event
	for round := range 2 {
		got := []bool{e.Hold(), e.Hold(), e.Hold(), e.Release(), e.Release(), e.Release()}
		want := []bool{true, false, false, false, false, true}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("round %d: Hold/Release results %v, want %v", round, got, want)
			}
		}
	}
}
