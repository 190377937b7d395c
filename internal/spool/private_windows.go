package spool

// CheckPrivate does nothing on Windows: access is governed by ACLs, which
// the spool inherits from where it is created.
func (s *Spool) CheckPrivate() error { return nil }
