//go:build linux

package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// blockWrite writes count 4 KiB blocks filled with one byte to a block
// device from block first on, with O_DIRECT, so that each write has reached
// the device when it returns; with "flush", it then fsyncs the device,
// which sends the device a flush. The replay's self-check uses it to leave
// on the disk one write that a flush covered and one that none did.
//
//	vmtest blockwrite DEV FIRST COUNT BYTE [flush]
func blockWrite(args []string) error {
	if len(args) != 4 && !(len(args) == 5 && args[4] == "flush") {
		return fmt.Errorf("usage: vmtest blockwrite DEV FIRST COUNT BYTE [flush]")
	}
	first, err1 := strconv.ParseInt(args[1], 10, 64)
	count, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil || len(args[3]) != 1 || first < 0 || count < 1 {
		return fmt.Errorf("blockwrite: bad FIRST %q, COUNT %q or BYTE %q", args[1], args[2], args[3])
	}
	const bs = 4096
	// O_DIRECT needs an aligned buffer: a fresh mapping is page-aligned.
	buf, err := syscall.Mmap(-1, 0, bs, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return fmt.Errorf("blockwrite: map a buffer: %w", err)
	}
	defer syscall.Munmap(buf)
	for i := range buf {
		buf[i] = args[3][0]
	}
	f, err := os.OpenFile(args[0], os.O_WRONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	for i := 0; i < count; i++ {
		if _, err := f.WriteAt(buf, (first+int64(i))*bs); err != nil {
			return fmt.Errorf("blockwrite %s: %w", args[0], err)
		}
	}
	if len(args) == 5 {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("blockwrite: fsync %s: %w", args[0], err)
		}
	}
	return f.Close()
}
