package spool

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// SweepTemp removes old records of tmp/ that no one holds, and keeps young
// ones, old ones held locked (a record a live worker keeps for reuse), and
// other old files (a batch's, waiting unlocked for the spool lock).
func TestSweepTemp(t *testing.T) {
	t.Parallel()
	s := open(t)
	tmp := filepath.Join(s.Root(), "tmp")
	long := time.Now().Add(-2 * StaleTemp)
	names := map[string]bool{"old.0123456789ab.rec": false, "young.0123456789ab.rec": true,
		"held.0123456789ab.rec": true, "batch.0123456789ab.tmp": true} // name: kept
	for name := range names {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if name != "young.0123456789ab.rec" {
			if err := os.Chtimes(p, long, long); err != nil {
				t.Fatal(err)
			}
		}
	}
	held, err := os.OpenFile(filepath.Join(tmp, "held.0123456789ab.rec"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := tryLock(held); err != nil {
		t.Fatal(err)
	}
	n, err := s.SweepTemp()
	if err != nil || n != 1 {
		t.Fatalf("SweepTemp = %d, %v; want 1 removed", n, err)
	}
	for name, kept := range names {
		_, err := os.Lstat(filepath.Join(tmp, name))
		if (err == nil) != kept {
			t.Errorf("%s: kept %v, want %v", name, err == nil, kept)
		}
	}
}
