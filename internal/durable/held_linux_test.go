package durable

import (
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A held call keeps its processor: with one processor, no other goroutine
// runs while it blocks, where a plain system call lets them. The call is a
// read of a pipe that a child process writes to after 200 ms; a goroutine
// beside it ticks every millisecond. (Not parallel: it sets GOMAXPROCS.)
func TestHeldCallKeepsProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var ticks atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				ticks.Add(1)
			}
		}
	}()
	// ticksDuring counts the ticks while read blocks on a pipe (blocking
	// descriptors, not the runtime's poller) until the child writes.
	ticksDuring := func(read func(fd int, b []byte) error) int64 {
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		r, w := fds[0], os.NewFile(uintptr(fds[1]), "pipe")
		defer unix.Close(r)
		cmd := exec.Command("sh", "-c", "sleep 0.2; printf x")
		cmd.Stdout = w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		defer cmd.Wait()
		time.Sleep(20 * time.Millisecond) // the ticker is running
		before := ticks.Load()
		b := make([]byte, 1)
		if err := read(r, b); err != nil {
			t.Fatal(err)
		}
		return ticks.Load() - before
	}
	held := ticksDuring(func(fd int, b []byte) error {
		return held(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 1)
	})
	plain := ticksDuring(func(fd int, b []byte) error {
		_, err := unix.Read(fd, b)
		return err
	})
	if plain < 2 {
		t.Skipf("the ticker ran only %d times beside a plain blocking read: the machine is too busy to tell", plain)
	}
	if held > 1 {
		t.Fatalf("the ticker ran %d times during a held read (%d during a plain one): the call gave up its processor", held, plain)
	}
}
