package spool

import "testing"

func TestWindowsShares(t *testing.T) {
	t.Parallel()
	for vol, want := range map[string]bool{
		`\\server\share`: true, `\\?\UNC\server\share`: true, `\\.\UNC\server\share`: true,
		`C:`: false, `\\?\C:`: false, `\\.\C:`: false, ``: false,
	} {
		if got := isUNC(vol); got != want {
			t.Errorf("isUNC(%q) = %v, want %v", vol, got, want)
		}
	}
	if !onNetworkFS(`\\server\share\spool`) {
		t.Error(`\\server\share\spool is not taken for a network spool`)
	}
}
