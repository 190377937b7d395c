//go:build unix && !linux && !darwin

package spool

// publish renames src to dst unless dst exists, with link(2) and unlink(2).
func publish(src, dst string) error {
	return linkPublish(src, dst)
}
