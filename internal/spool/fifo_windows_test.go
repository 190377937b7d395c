package spool

import (
	"errors"
	"testing"
)

func mkfifo(string) error { return errors.New("no FIFOs on Windows") }

func mksock(t *testing.T, _ string) { t.Skip("no unix sockets") }

// linkPublishTest: Windows has one way to publish.
func linkPublishTest(src, dst string) error { return publish(src, dst) }
