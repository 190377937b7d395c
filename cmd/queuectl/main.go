// Command queuectl runs shell commands as background jobs kept in a spool
// directory, with retries, backoff, priorities, delays and a dead letter
// queue.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
