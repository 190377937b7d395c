package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// Two more peers join the drain, as the goal names them: a minimal durable
// spool (always; it needs only Go) and asynq on Redis (where redis-server
// is installed: apt-get install redis-server). Each is a small program
// built at bench time in a module of its own, so that queuectl's go.mod
// does not carry asynq and Redis' client.

// minimalSpoolProgram is the least a spool on disk can do and still keep
// every job across a crash: jobs are the same JSON files in pending/; a
// worker lists pending/ once, claims each job by a rename into
// processing/, fsyncs both directories, runs the job's command with sh -c,
// then renames it into done/ and fsyncs both directories again. No
// priorities, retries, records, locks, heartbeats, logs or recovery. Two
// such processes go through the same listing; a claim the other won fails
// its rename and costs nothing else.
const minimalSpoolProgram = `package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

func fsyncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		panic(err)
	}
	if err := d.Sync(); err != nil {
		panic(err)
	}
	d.Close()
}

func main() {
	root := os.Args[1]
	pending, processing, done := filepath.Join(root, "pending"), filepath.Join(root, "processing"), filepath.Join(root, "done")
	d, err := os.Open(pending)
	if err != nil {
		panic(err)
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		panic(err)
	}
	d.Close()
	sort.Strings(names)
	for _, name := range names {
		claimed := filepath.Join(processing, name)
		if err := os.Rename(filepath.Join(pending, name), claimed); err != nil {
			continue // the other worker took it
		}
		fsyncDir(processing)
		fsyncDir(pending)
		data, err := os.ReadFile(claimed)
		if err != nil {
			panic(err)
		}
		var j struct{ Command string }
		if err := json.Unmarshal(data, &j); err != nil {
			panic(err)
		}
		cmd := exec.Command("sh", "-c", j.Command)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			panic(err)
		}
		if err := os.Rename(claimed, filepath.Join(done, name)); err != nil {
			panic(err)
		}
		fsyncDir(done)
		fsyncDir(processing)
	}
}
`

// asynqProgram enqueues tasks into asynq (enqueue SOCKET N) or serves
// them (serve SOCKET CONCURRENCY N): each task runs its payload with
// sh -c. serve prints the seconds from its start to the N-th task done,
// and exits non-zero at the first task that fails (tasks are not retried).
const asynqProgram = `package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
)

func main() {
	start := time.Now()
	redis := asynq.RedisClientOpt{Network: "unix", Addr: os.Args[2]}
	switch os.Args[1] {
	case "enqueue":
		n, _ := strconv.Atoi(os.Args[3])
		c := asynq.NewClient(redis)
		defer c.Close()
		for range n {
			if _, err := c.Enqueue(asynq.NewTask("sh", []byte("true")), asynq.MaxRetry(0)); err != nil {
				panic(err)
			}
		}
	case "serve":
		conc, _ := strconv.Atoi(os.Args[3])
		n, _ := strconv.Atoi(os.Args[4])
		var left atomic.Int64
		left.Store(int64(n))
		all := make(chan time.Duration, 1)
		mux := asynq.NewServeMux()
		mux.HandleFunc("sh", func(ctx context.Context, t *asynq.Task) error {
			err := exec.CommandContext(ctx, "sh", "-c", string(t.Payload())).Run()
			if err != nil {
				fmt.Fprintln(os.Stderr, "task:", err)
				os.Exit(1) // not retried (MaxRetry(0)): the drain cannot end
			}
			if left.Add(-1) == 0 {
				all <- time.Since(start)
			}
			return nil
		})
		srv := asynq.NewServer(redis, asynq.Config{Concurrency: conc, LogLevel: asynq.ErrorLevel})
		if err := srv.Start(mux); err != nil {
			panic(err)
		}
		fmt.Println((<-all).Seconds())
		srv.Shutdown()
	}
}
`

// asynqVersion is the asynq release the peer is built with.
const asynqVersion = "v0.26.0"

// buildProgram builds the Go program src, in a module of its own named
// name under the bench's directory, and returns the binary's path. With
// requires ("path version" lines), the module's go.sum is made first with
// go mod tidy, through the module proxy.
func (b *bench) buildProgram(name, src string, requires ...string) (string, error) {
	dir := filepath.Join(b.work, name+"-src")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	mod := "module " + name + "\n\ngo 1.22\n"
	if len(requires) > 0 {
		mod += "\nrequire (\n\t" + strings.Join(requires, "\n\t") + "\n)\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o600); err != nil {
		return "", err
	}
	bin := filepath.Join(b.work, name)
	steps := [][]string{{"go", "build", "-o", bin, "."}}
	if len(requires) > 0 {
		steps = append([][]string{{"go", "mod", "tidy"}}, steps...)
	}
	for _, step := range steps {
		cmd := exec.Command(step[0], step[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("%s: %v\n%s", strings.Join(step, " "), err, out)
		}
	}
	return bin, nil
}

// queueDrainJobs fills a new spool with n true jobs, as drain does.
func (b *bench) queueDrainJobs(n int) (string, *spool.Spool) {
	dir, s := b.spool()
	for i := range n {
		if err := s.Enqueue(&job.Job{ID: fmt.Sprintf("d%06d", i), Command: "true"}); err != nil {
			fatalf("%v", err)
		}
	}
	return dir, s
}

// drainPeer is a peer timed in each run of the drain, right after
// queuectl and xargs, so that the machine's drift moves all alike.
type drainPeer struct {
	subject, metric string
	run             func() (float64, error) // one timed drain: jobs/s
	rates           []float64
	failed          bool // a run failed: the peer is left out from then on
}

// drainPeers builds the peers of the drain that can run here: the
// minimal durable spool always, asynq where redis-server is installed.
func (b *bench) drainPeers() []*drainPeer {
	bin, err := b.buildProgram("minimal-spool", minimalSpoolProgram)
	if err != nil {
		fatalf("build the minimal spool: %v", err)
	}
	peers := []*drainPeer{{
		subject: "minimal durable spool (rename, fsync both dirs), 2 processes",
		metric:  fmt.Sprintf("%d true jobs", *nDrain),
		run:     func() (float64, error) { return b.minimalDrain(bin) },
	}}
	redis, err := exec.LookPath("redis-server")
	if err != nil {
		log.Print("redis-server not installed (apt-get install redis-server); asynq skipped")
		return peers
	}
	peer, err := b.buildProgram("asynq-peer", asynqProgram, "github.com/hibiken/asynq "+asynqVersion)
	if err != nil {
		log.Printf("asynq skipped: cannot build its peer program: %v", err)
		return peers
	}
	return append(peers, &drainPeer{
		subject: "asynq " + asynqVersion + " on Redis (built-in defaults), concurrency 2",
		metric:  fmt.Sprintf("%d sh -c true tasks, queued first", *nDrain),
		run:     func() (float64, error) { return b.asynqDrain(redis, peer) },
	})
}

// runPeer runs one timed drain of p, unless an earlier one failed; a
// failure is reported and leaves the peer out of the results.
func runPeer(p *drainPeer, r int) {
	if p.failed {
		return
	}
	rate, err := p.run()
	if err != nil {
		log.Printf("drain run %d: %s: %v; left out", r+1, p.subject, err)
		p.failed = true
		return
	}
	p.rates = append(p.rates, rate)
	log.Printf("drain run %d: %s %.0f jobs/s", r+1, p.subject, rate)
}

// results returns p's row, if it has figures.
func (p *drainPeer) results(xargs float64) []result {
	if p.failed || len(p.rates) == 0 {
		return nil
	}
	return []result{{Workload: "drain", Subject: p.subject, Metric: p.metric,
		Median: median(p.rates), Unit: "jobs/s", Ratio: median(p.rates) / xargs, Runs: len(p.rates)}}
}

// peerTimeout bounds one drain of a peer.
const peerTimeout = 10 * time.Minute

// startPeer starts cmd, its output going to the bench's stderr, killed if
// the bench exits meanwhile; wait waits for it, at most peerTimeout, and
// forgets it.
func startPeer(cmd *exec.Cmd) (wait func() error, err error) {
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	kill := atExit(func() { cmd.Process.Kill() })
	return func() error {
		defer kill()
		timer := time.AfterFunc(peerTimeout, func() { cmd.Process.Kill() })
		defer timer.Stop()
		err := cmd.Wait()
		if err != nil && !timer.Stop() {
			return fmt.Errorf("%s: not done after %v", filepath.Base(cmd.Path), peerTimeout)
		}
		return err
	}, nil
}

// minimalDrain times two minimal-spool processes over the drain's jobs,
// from their start to both done.
func (b *bench) minimalDrain(bin string) (float64, error) {
	dir, s := b.queueDrainJobs(*nDrain)
	start := time.Now()
	var waits []func() error
	for range 2 {
		wait, err := startPeer(exec.Command(bin, dir))
		if err != nil {
			return 0, err
		}
		waits = append(waits, wait)
	}
	var errs []error
	for _, wait := range waits {
		errs = append(errs, wait())
	}
	el := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	if n, err := s.Count(spool.Done); err != nil || n != *nDrain {
		return 0, fmt.Errorf("%d of %d jobs done (%v)", n, *nDrain, err)
	}
	return float64(*nDrain) / el.Seconds(), nil
}

// asynqDrain times an asynq server with concurrency 2 over as many tasks
// queued first, from the server's start to the last task done. Redis runs
// with its built-in defaults (no configuration file: snapshots, no
// append-only file), on a private socket.
func (b *bench) asynqDrain(redis, bin string) (float64, error) {
	dir := b.tempDir("redis")
	sock := filepath.Join(dir, "redis.sock")
	srv := exec.Command(redis, "--port", "0", "--unixsocket", sock, "--dir", dir, "--daemonize", "no")
	srv.Stdout = io.Discard
	if err := srv.Start(); err != nil {
		return 0, fmt.Errorf("redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { srv.Wait(); close(exited) }()
	stop := atExit(func() { srv.Process.Kill(); <-exited; os.RemoveAll(dir) })
	defer stop()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case <-exited:
			return 0, fmt.Errorf("redis-server exited before it opened %s", sock)
		default:
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("redis-server did not open %s in 10 s", sock)
		}
	}
	wait, err := startPeer(exec.Command(bin, "enqueue", sock, strconv.Itoa(*nDrain)))
	if err == nil {
		err = wait()
	}
	if err != nil {
		return 0, fmt.Errorf("asynq enqueue: %w", err)
	}
	var out strings.Builder
	serve := exec.Command(bin, "serve", sock, "2", strconv.Itoa(*nDrain))
	serve.Stdout = &out
	if wait, err = startPeer(serve); err == nil {
		err = wait()
	}
	if err != nil {
		return 0, fmt.Errorf("asynq serve: %w", err)
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(out.String()), 64)
	if err != nil {
		return 0, fmt.Errorf("asynq serve printed %q", out.String())
	}
	return float64(*nDrain) / secs, nil
}
