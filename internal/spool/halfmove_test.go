//go:build !windows

package spool

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRecoverFinishesHalfMove: a host that died between the link(2) and
// the unlink(2) of a move (NFS has no RENAME_NOREPLACE, see linkPublish)
// leaves the job in processing/ and in the state it was moving to, one
// file under two names. A recovery finishes the move instead of failing on
// the name taken, and a claim leaves such a job alone meanwhile instead of
// quarantining it as a duplicate.
func TestRecoverFinishesHalfMove(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		to   State // where the move went
	}{
		{name: "outcome recorded, moving to done", to: Done},
		{name: "claim cut short", to: Pending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openNetwork(t)
			const owner = "hosta-1-aa"
			beatAs(t, s, owner, "hosta", time.Hour) // dead a long time ago
			switch tc.to {
			case Done:
				l := claimAs(t, s, "a", owner)
				l.Release()
				data, err := os.ReadFile(s.path(Processing, "a"))
				if err != nil {
					t.Fatal(err)
				}
				rewritten := strings.Replace(string(data), `"state": "processing"`, `"state": "done"`, 1)
				if rewritten == string(data) {
					t.Fatalf("no state to rewrite in %s", data)
				}
				if err := os.WriteFile(s.path(Processing, "a"), []byte(rewritten), 0o600); err != nil {
					t.Fatal(err)
				}
				linkOrFail(t, s.path(Processing, "a"), s.path(Done, "a"))
			case Pending:
				claimAs(t, s, "a", owner).Release()
				if err := os.Rename(s.path(Processing, "a"), s.path(Pending, "a")); err != nil {
					t.Fatal(err)
				}
				linkOrFail(t, s.path(Pending, "a"), s.path(Processing, "a"))
				later := time.Now().Add(time.Hour) // the claim's file unchanged for a lease
				s.Now = func() time.Time { return later }
				if _, err := s.Claim(Pending, "a", "w-2-bb"); !errors.Is(err, ErrGone) {
					t.Fatalf("claim of a job half moved: %v, want ErrGone", err)
				}
			}
			_, st, err := s.Recover("a", 3, 0)
			if err != nil || st != tc.to {
				t.Fatalf("Recover: %v, %v; want %s", st, err, tc.to)
			}
			if _, err := os.Lstat(s.path(Processing, "a")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("processing/a.json still there: %v", err)
			}
			if _, err := os.Lstat(s.path(tc.to, "a")); err != nil {
				t.Errorf("%s/a.json: %v", tc.to, err)
			}
		})
	}
}

func linkOrFail(t *testing.T, old, name string) {
	t.Helper()
	if err := os.Link(old, name); err != nil {
		t.Fatal(err)
	}
}
