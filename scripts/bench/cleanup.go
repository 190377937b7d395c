package main

import (
	"log"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Cleanups run however the bench ends: workers stopped, task-spooler
// servers killed, the temporary directory removed. A workload that fails
// midway calls fatalf, which runs them before exiting; so does Ctrl-C.
var (
	cleanupMu sync.Mutex
	cleanups  = map[int]func(){}
	cleanupN  int
	exiting   bool
	halt      atomic.Bool // exiting, for loops that must not go on writing
	// starting counts `worker start` commands in flight: their workers
	// register only when the command returns.
	starting sync.WaitGroup
)

// atExit registers f to run if the bench exits early, and returns a
// function that runs f now (once) and forgets it. Once the bench is
// exiting, atExit runs f at once and never returns: the exit is under way.
func atExit(f func()) (done func()) {
	var once sync.Once
	run := func() { once.Do(f) }
	cleanupMu.Lock()
	if exiting {
		cleanupMu.Unlock()
		run()
		select {}
	}
	n := cleanupN
	cleanupN++
	cleanups[n] = run
	cleanupMu.Unlock()
	return func() {
		cleanupMu.Lock()
		delete(cleanups, n)
		cleanupMu.Unlock()
		run()
	}
}

// fatalf reports a failure, cleans up and exits.
func fatalf(format string, args ...any) {
	checkExit() // a failure caused by the cleanup under way is no news
	log.Printf(format, args...)
	cleanupMu.Lock()
	if exiting { // another goroutine is cleaning up and will exit
		cleanupMu.Unlock()
		select {}
	}
	exiting = true
	halt.Store(true)
	fs := make([]func(), 0, len(cleanups))
	for _, k := range slices.Backward(slices.Sorted(maps.Keys(cleanups))) {
		fs = append(fs, cleanups[k])
	}
	clear(cleanups)
	cleanupMu.Unlock()
	waitStarts(10 * time.Second)
	for _, f := range fs {
		f()
	}
	os.Exit(1)
}

// checkExit never returns once the bench is exiting: loops that write
// files call it, so as not to write into what cleanup removes.
func checkExit() {
	if halt.Load() {
		select {}
	}
}

// waitStarts waits, at most d, for `worker start` commands in flight.
func waitStarts(d time.Duration) {
	done := make(chan struct{})
	go func() {
		starting.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// killStrays kills every live worker of every spool under work: those
// whose `worker start` was in flight when the bench began to exit.
func killStrays(work string) {
	dirs, _ := filepath.Glob(filepath.Join(work, "*", "workers"))
	for _, d := range dirs {
		for _, hb := range heartbeats(filepath.Dir(d)) {
			if alive(hb.PID) {
				log.Printf("killing worker pid %d of %s", hb.PID, filepath.Dir(d))
				killPID(hb.PID)
			}
		}
	}
}

// cleanUpOnSignal makes Ctrl-C and SIGTERM clean up too.
func cleanUpOnSignal() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-c
		fatalf("bench: %v: cleaning up", sig)
	}()
}
