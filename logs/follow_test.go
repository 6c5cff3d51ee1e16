package logs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rotator writes numbered lines through a descriptor of its own, as nginx
// does, and rotates its file by rename and create or by copy and
// truncate, as logrotate does.
type rotator struct {
	t    *testing.T
	path string
	w    *os.File
	next int    // the next line's number
	cut  string // the end of a line written in part
}

// numbered is line n: its number at both ends and a length of its own,
// so that a torn line cannot pass for one.
func numbered(n int) string {
	return fmt.Sprintf("%06d %s %06d\n", n, strings.Repeat("x", n%97), n)
}

func (r *rotator) open() {
	w, err := os.OpenFile(r.path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	r.w = w
}

func (r *rotator) write(s string) {
	if _, err := io.WriteString(r.w, s); err != nil {
		r.t.Fatal(err)
	}
}

// lines writes n lines, the first ending the line written in part if any.
func (r *rotator) lines(n int) {
	end := r.next + n
	r.write(r.batch(func([]byte) bool { return r.next < end }))
}

// batch is the end of the line written in part, if any, and the lines
// that follow as long as more(what is batched) holds, to be written at
// once.
func (r *rotator) batch(more func([]byte) bool) string {
	b := []byte(r.cut)
	r.cut = ""
	for more(b) {
		b = append(b, numbered(r.next)...)
		r.next++
	}
	return string(b)
}

// half writes the first half of a line.
func (r *rotator) half() {
	l := numbered(r.next)
	r.next++
	r.write(l[:len(l)/2])
	r.cut = l[len(l)/2:]
}

func (r *rotator) rename(mid bool) {
	if mid {
		r.half()
	}
	if err := os.Rename(r.path, r.path+".1"); err != nil {
		r.t.Fatal(err)
	}
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	f.Close()
	// Until it reopens the path, the writer appends to the old file.
	r.lines(2)
	r.w.Close()
	r.open()
	r.lines(3)
}

// copyTruncate writes lines the follower has not read, copies, truncates,
// and at once writes more than was there before: the old offset now falls
// inside the new content.
func (r *rotator) copyTruncate(mid bool) {
	r.lines(2)
	if mid {
		r.half()
	}
	if _, err := os.Stat(r.path + ".1"); err == nil {
		if err := os.Rename(r.path+".1", r.path+".2"); err != nil {
			r.t.Fatal(err)
		}
	}
	b, err := os.ReadFile(r.path)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(r.path+".1", b, 0o644); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Truncate(r.path, 0); err != nil {
		r.t.Fatal(err)
	}
	r.write(r.batch(func(more []byte) bool { return len(more) <= len(b) }))
}

// Every line written is read once, whole, across hundreds of rotations
// of each kind, each made at one of the points where a follower is most
// exposed: a chunk read but not checked, its files read to their end but
// the path not looked at, about to wait; mid-line or not. The rotations
// are made from the follower's test hook, so each falls exactly there.
// Woken by inotify alone (polling an hour apart), and by polling alone.
func TestFollowRotationsLoseNoLine(t *testing.T) {
	const rotations = 300
	for _, notify := range []bool{true, false} {
		for _, kind := range []string{"rename", "copytruncate"} {
			t.Run(fmt.Sprintf("%s/notify=%v", kind, notify), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "access.log")
				r := &rotator{t: t, path: path}
				r.open()
				defer func() { r.w.Close() }()
				r.lines(5) // before the follower: not read

				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				poll := time.Microsecond
				if notify {
					poll = time.Hour
				}
				fw := follow(ctx, path, poll, notify)
				defer fw.Close()
				if notify && fw.wake == nil {
					t.Fatal("no inotify watcher")
				}
				first := r.next
				seen := map[int]bool{}
				done, wrote, n := false, false, 0
				// A rotation comes once the follower has read a line
				// written after the one before: the follower must see every
				// file (logrotate rotates hours apart).
				marker := -1
				fw.hook = func(p point) {
					switch {
					case done:
						if p == atWait {
							var lost []int
							for i := first; i < r.next; i++ {
								if !seen[i] {
									lost = append(lost, i)
								}
							}
							t.Fatalf("everything read, and lines %v are missing", lost)
						}
					case !wrote && marker >= 0 && !seen[marker]:
					case !wrote:
						r.lines(3)
						wrote = true
					case p == point(n%3):
						mid := n/3%2 == 1
						if kind == "rename" {
							r.rename(mid)
						} else {
							r.copyTruncate(mid)
						}
						marker = r.next
						r.lines(1)
						n++
						wrote = false
						done = n == rotations
					}
				}
				br := bufio.NewReader(fw)
				for !done || len(seen) < r.next-first {
					l, err := br.ReadString('\n')
					if err != nil {
						t.Fatalf("after %d lines: %v", len(seen), err)
					}
					i, err := strconv.Atoi(l[:min(6, len(l))])
					if err != nil || l != numbered(i) || i < first {
						t.Fatalf("rotation %d: torn line %q", n, l)
					}
					if seen[i] {
						t.Fatalf("rotation %d: line %d read twice", n, i)
					}
					seen[i] = true
				}
			})
		}
	}
}

// A follower that starts inside a line skips to its end rather than
// hand out its end as a line.
func TestFollowStartsAtALine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	r := &rotator{t: t, path: path}
	r.open()
	defer r.w.Close()
	r.lines(1)
	r.half()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fw := follow(ctx, path, time.Microsecond, false)
	defer fw.Close()
	r.lines(1)
	l, err := bufio.NewReader(fw).ReadString('\n')
	if err != nil || l != numbered(2) {
		t.Fatalf("read %q, %v; want %q", l, err, numbered(2))
	}
}
