//go:build linux

// Command vmtest is the part in Go of the tests that run queuectl in qemu
// guests (scripts/nfs-test.sh, scripts/powercut-test.sh): in a guest it
// mounts file systems that busybox cannot; on the host it drives and
// checks a run.
//
//	vmtest mount SRC DST FSTYPE DATA      in a guest: mount(2)
//	vmtest nfs-host [flags]               on the host: kill a guest mid-run, time the recovery, check the spool
//	vmtest powercut-check [flags]         on the host: check a spool after power cuts against the acked ids
//	vmtest blockwrite DEV FIRST COUNT BYTE [flush]   in a guest: O_DIRECT writes, then maybe a flush
//	vmtest replay [flags]                 on the host: rebuild a disk from a dm-log-writes log, up to the last flush
package main

import (
	"fmt"
	"os"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "mount":
		if len(args) != 4 {
			usage()
		}
		err = syscall.Mount(args[0], args[1], args[2], 0, args[3])
	case "nfs-host":
		err = nfsHost(args)
	case "powercut-check":
		err = powercutCheck(args)
	case "blockwrite":
		err = blockWrite(args)
	case "replay":
		err = logReplay(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmtest:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: vmtest mount SRC DST FSTYPE DATA | nfs-host [flags] | powercut-check [flags] | blockwrite DEV FIRST COUNT BYTE [flush] | replay [flags]")
	os.Exit(2)
}
