package worker

import (
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/queuectl/queuectl/internal/job"
	"github.com/queuectl/queuectl/internal/spool"
)

// capture takes a run's output (stdout and stderr) from a pipe. It appends
// it to the job's log, under the attempt's header line, and keeps its last
// job.MaxOutput bytes for the job file. The log is opened when the first
// byte arrives, so that a run that prints nothing costs no file: creating
// a file is the dearest step of a short job on some file systems.
//
// What a run leaves in the background may hold the pipe after the job's
// shell has exited: its output keeps going to the log until it ends.
type capture struct {
	s      *spool.Spool
	id     string
	header string
	r      *os.File
	done   chan struct{} // closed at the end of the output

	mu       sync.Mutex
	log      *os.File
	logErr   error
	last     []byte // the last bytes of output, at least job.MaxOutput of them when there are
	finished bool   // the run is over (see end)
	drained  bool   // the output ended
}

// newCapture returns a capture and the write end of its pipe, to be given
// to the command and closed once it has started.
func newCapture(s *spool.Spool, id, header string) (*capture, *os.File, error) {
	r, w, err := outputPipe()
	if err != nil {
		return nil, nil, err
	}
	c := &capture{s: s, id: id, header: header, r: r, done: make(chan struct{})}
	go c.read()
	return c, w, nil
}

// maxGraces bounds how many graces end gives the output in all, when its
// timers fire late.
const maxGraces = 10

// sinceDeadline is time.Since; tests make timers late.
var sinceDeadline = time.Since

// buffers holds the read buffers of captures: a worker with a deep
// backlog has a large heap to mark, and a buffer of garbage per job would
// make the collector run more often.
var buffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func (c *capture) read() {
	defer close(c.done)
	b := buffers.Get().(*[32 << 10]byte)
	defer buffers.Put(b)
	buf := b[:]
	for {
		n, err := c.r.Read(buf)
		if n > 0 {
			c.write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	c.r.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drained = true
	if c.finished && c.log != nil {
		c.log.Close()
	}
}

func (c *capture) write(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.log == nil && c.logErr == nil {
		c.log, c.logErr = c.s.OpenLog(c.id)
		if c.logErr == nil {
			_, c.logErr = c.log.WriteString(c.header)
		}
	}
	if c.logErr == nil {
		_, c.logErr = c.log.Write(p)
	}
	c.last = append(c.last, p...)
	if len(c.last) > 2*job.MaxOutput {
		c.last = append(c.last[:0], c.last[len(c.last)-job.MaxOutput:]...)
	}
}

// end is called once the run is over: it waits up to grace for the output
// to end, writes the trailer line to the log if there is one, and returns
// the tail of the output as valid UTF-8 and the error of writing the log.
//
// The grace is of time the worker runs: a timer that fires late (by half
// the grace or more) means that the worker's goroutines could not run
// meanwhile, its processor held by a flush (see spool.Spool.HoldSyncs) or
// the machine too busy, and that the reader may not have read what the
// run wrote in time. Its grace then starts again, up to maxGraces graces
// in all.
func (c *capture) end(grace time.Duration, trailer string) (string, error) {
	t := time.NewTimer(grace)
	deadline := time.Now().Add(grace)
wait:
	for graces := 1; ; graces++ {
		select {
		case <-c.done:
			break wait
		case <-t.C:
			if graces == maxGraces || sinceDeadline(deadline) < grace/2 {
				break wait
			}
			t.Reset(grace)
			deadline = time.Now().Add(grace)
		}
	}
	t.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished = true
	if c.log != nil {
		if _, err := c.log.WriteString(trailer); c.logErr == nil {
			c.logErr = err
		}
		if c.drained {
			c.log.Close()
		}
	}
	return tailOf(c.last), c.logErr
}

// tailOf returns the last job.MaxOutput bytes of b as valid UTF-8.
func tailOf(b []byte) string {
	s := strings.ToValidUTF8(string(b[max(0, len(b)-job.MaxOutput):]), "\uFFFD")
	for len(s) > job.MaxOutput {
		_, size := utf8.DecodeRuneInString(s)
		s = s[size:]
	}
	return s
}
