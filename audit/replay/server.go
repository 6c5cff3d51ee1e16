package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bounds of a server's life. They bound waits, and say nothing of speed.
const (
	startTimeout = 30 * time.Second
	stopTimeout  = 5 * time.Second
)

// MissingError says that the server a configuration needs is not
// installed, and which Debian package installs it.
type MissingError struct {
	Program, Package string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s not found: install it first (Debian, Ubuntu: apt-get install %s)", e.Program, e.Package)
}

// sbinDirs are where servers are installed off many users' PATH.
var sbinDirs = []string{"/usr/sbin", "/usr/local/sbin"}

// lookPath finds a program on PATH or in sbinDirs.
func lookPath(program, pkg string) (string, error) {
	if p, err := exec.LookPath(program); err == nil {
		return p, nil
	}
	for _, dir := range sbinDirs {
		if p, err := exec.LookPath(filepath.Join(dir, program)); err == nil {
			return p, nil
		}
	}
	return "", &MissingError{program, pkg}
}

// server is a throw-away varnishd or nginx, in its own process group so
// that its children (Varnish's cache process, nginx's workers) end with
// it.
type server struct {
	name   string
	cmd    *exec.Cmd
	out    syncBuffer
	exited chan struct{}
	err    error // set before exited closes
	addr   string
}

// startServer runs argv (the program first) and waits until it answers
// HTTP on 127.0.0.1:port. A server that did not start is returned beside
// the error, stopped, for its output.
func startServer(ctx context.Context, name string, port int, argv []string) (*server, error) {
	s := &server{name: name, exited: make(chan struct{}), addr: "127.0.0.1:" + strconv.Itoa(port)}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	ownGroup(s.cmd)
	s.cmd.WaitDelay = stopTimeout
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.wait(ctx); err != nil {
		s.stop()
		return s, err // its output says why
	}
	return s, nil
}

// errExited says the server ended before it answered: a configuration
// it refused, or a port taken meanwhile.
var errExited = errors.New("exited")

// wait polls until the server answers any HTTP response.
func (s *server) wait(ctx context.Context) error {
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("%s %w (%v)", s.name, errExited, s.err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := client.Get("http://" + s.addr + "/"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer HTTP within %s", s.name, startTimeout)
}

// stop ends the server and its children: terminate, then kill if they
// linger.
func (s *server) stop() {
	select {
	case <-s.exited:
	default:
		terminateGroup(s.cmd)
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			killGroup(s.cmd)
			<-s.exited
		}
	}
	// Children that outlived their parent.
	killGroup(s.cmd)
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts a server on a free port, trying another port when the
// one picked was taken before the server bound it.
func launch(ctx context.Context, name string, argv func(port int) ([]string, error)) (*server, error) {
	const attempts = 3
	for i := 1; ; i++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		args, err := argv(port)
		if err != nil {
			return nil, err
		}
		s, err := startServer(ctx, name, port, args)
		if err == nil {
			return s, nil
		}
		if s == nil || i == attempts || !errors.Is(err, errExited) || !bytes.Contains(s.out.Bytes(), []byte("in use")) {
			return s, err
		}
	}
}

// syncBuffer collects a server's output, which exec writes from its own
// goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written.
func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// maxErrorLines bounds how much of a server's output an error quotes.
const maxErrorLines = 30

// startError is err with the server's last messages, passed through
// hide, which drops what may quote the configuration's secrets.
func startError(err error, s *server, hide func(string) string) error {
	if s == nil {
		return err
	}
	out := strings.TrimSpace(hide(string(s.out.Bytes())))
	if out == "" {
		return err
	}
	lines := strings.Split(out, "\n")
	if len(lines) > maxErrorLines {
		lines = lines[len(lines)-maxErrorLines:]
	}
	return fmt.Errorf("%w; its messages:\n%s", err, strings.Join(lines, "\n"))
}
