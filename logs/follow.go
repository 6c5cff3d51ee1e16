package logs

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// fpLen bounds a file's fingerprint: its first bytes, which tell its
	// content from what is written to it after a truncation. 4 KiB reaches
	// past a W3C header (CloudFront's is about 400 bytes) into the first
	// lines, whose times differ from one file to the next.
	fpLen = 4 << 10
	// heldMax bounds a partial line held until its newline. A longer one
	// is cut there, handed out as a line, and the rest of it skipped.
	heldMax = 1 << 20
	// chunkLen is what one read asks of a file.
	chunkLen = 64 << 10
)

// point is where a follower calls its test hook: the places where a
// rotation hurts most.
type point int

const (
	atRead point = iota // a chunk was read from the file at the path, its fingerprint not checked yet
	atEnd               // every file read to its end, the path not looked at yet
	atWait              // about to wait for a wake-up
)

// follower reads a file like tail -F, and hands out whole lines only.
// It holds the file at the path (cur) and the one renamed away from it at
// the last rotation (prev), to which a writer appends until it reopens
// the path.
type follower struct {
	ctx  context.Context
	path string
	poll time.Duration
	// wake: something happened in the file's directory (inotify); nil
	// without a watcher. Polling every poll stays, as a safety net.
	wake    <-chan struct{}
	unwatch func()

	cur, prev *source
	out       []byte // whole lines not handed out yet, from outAt
	outAt     int
	scratch   []byte // for comparing a file's bytes with what was read
	hook      func(point)
}

// source is one file and where its stream stands.
type source struct {
	f    *os.File
	info os.FileInfo
	off  int64
	buf  []byte
	// fp: the file's first min(off, fpLen) bytes, as read.
	fp []byte
	// copy: after a copy and truncate, the copy, read from copyOff to its
	// end before f from its start: one stream, as its writer wrote it.
	copy    *os.File
	copyOff int64
	// rest: a partial line, held until its newline. skip: the stream is
	// mid-line and its bytes up to the next newline are not handed out.
	rest []byte
	skip bool
}

// Follow returns a reader of the file at path that, like tail -F, starts
// at its end, waits there for more, and follows the path across rotation,
// whether by rename (the old file read to its end, then the new one from
// its start) or by copy and truncate (what was not read yet is read from
// the copy, then the file from its start), and hands out whole lines only.
// It is woken by inotify where it can watch the file's directory, and
// polls every poll in any case. The reader ends, with io.EOF, when ctx
// does. A path that does not exist yet is waited for. docs/logs.md says
// what can still be lost.
func Follow(ctx context.Context, path string, poll time.Duration) io.ReadCloser {
	return follow(ctx, path, poll, true)
}

func follow(ctx context.Context, path string, poll time.Duration, notify bool) *follower {
	fw := &follower{ctx: ctx, path: path, poll: poll, scratch: make([]byte, fpLen)}
	if notify {
		fw.wake, fw.unwatch = watch(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fw
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fw
	}
	s := &source{f: f, info: info, buf: make([]byte, chunkLen)}
	if s.off, err = f.Seek(0, io.SeekEnd); err == nil && s.off > 0 {
		n, _ := f.ReadAt(fw.scratch[:min(s.off, fpLen)], 0)
		s.fp = append([]byte(nil), fw.scratch[:n]...)
		// Starting inside a line would hand out its end as a line.
		last := []byte{0}
		if _, err := f.ReadAt(last, s.off-1); err == nil && last[0] != '\n' {
			s.skip = true
		}
	}
	fw.cur = s
	return fw
}

func (fw *follower) Read(p []byte) (int, error) {
	for fw.outAt == len(fw.out) {
		fw.out, fw.outAt = fw.out[:0], 0
		moved, err := fw.step()
		if err != nil {
			return 0, err
		}
		if !moved && !fw.wait() {
			return 0, io.EOF
		}
	}
	n := copy(p, fw.out[fw.outAt:])
	fw.outAt += n
	return n, nil
}

// step reads once from the files held, or, at their ends, looks at the
// path. It reports whether anything moved.
func (fw *follower) step() (bool, error) {
	if fw.prev != nil {
		if moved, err := fw.pull(fw.prev, false); moved || err != nil {
			return moved, err
		}
		if !linked(fw.prev.f) {
			fw.retire()
		}
	}
	if fw.cur != nil {
		if moved, err := fw.pull(fw.cur, true); moved || err != nil {
			return moved, err
		}
	}
	fw.at(atEnd)
	return fw.look()
}

// pull reads one chunk of s. atPath: s is the file at the path, which
// may have been truncated since it was last read.
func (fw *follower) pull(s *source, atPath bool) (bool, error) {
	if s.copy != nil {
		n, err := s.copy.ReadAt(s.buf, s.copyOff)
		s.copyOff += int64(n)
		fw.take(s, s.buf[:n])
		if err != nil {
			// At the copy's end (or unable to read it): on with the file.
			s.copy.Close()
			s.copy = nil
		}
		return true, nil
	}
	n, err := s.f.Read(s.buf)
	if n == 0 {
		if err != nil && err != io.EOF {
			return false, err
		}
		return false, nil
	}
	chunk := s.buf[:n]
	if atPath {
		fw.at(atRead)
		if !fw.unchanged(s) {
			fw.truncated(s, chunk)
			return true, nil
		}
	}
	if grow := min(fpLen-len(s.fp), n); int64(len(s.fp)) == s.off && grow > 0 {
		s.fp = append(s.fp, chunk[:grow]...)
	}
	s.off += int64(n)
	fw.take(s, chunk)
	return true, nil
}

// take adds what was read of s to the lines to hand out, holding back a
// partial line.
func (fw *follower) take(s *source, b []byte) {
	if s.skip {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return
		}
		b, s.skip = b[i+1:], false
	}
	i := bytes.LastIndexByte(b, '\n')
	if i < 0 {
		s.rest = append(s.rest, b...)
		if len(s.rest) > heldMax {
			fw.end(s)
			s.skip = true
		}
		return
	}
	if s == fw.cur && fw.prev != nil && len(fw.prev.rest) > 0 {
		fw.settle()
	}
	fw.out = append(fw.out, s.rest...)
	fw.out = append(fw.out, b[:i+1]...)
	s.rest = append(s.rest[:0], b[i+1:]...)
}

// settle decides the partial line the renamed-away file ended with, now
// that the new file has a line to hand out. A writer writes the new file
// only once it has reopened the path, so it has finished the old file by
// then: what is read of it now comes first, and a line still partial
// was cut by the writer (a crash, a full disk). It is handed out as a
// line of its own, where it counts as a bad line rather than vanish, and
// what may still come of it is skipped.
func (fw *follower) settle() {
	for {
		if moved, _ := fw.pull(fw.prev, false); !moved {
			break
		}
	}
	if len(fw.prev.rest) > 0 {
		fw.end(fw.prev)
		fw.prev.skip = true
	}
}

// end hands out s's partial line, ended by a newline.
func (fw *follower) end(s *source) {
	fw.out = append(fw.out, s.rest...)
	fw.out = append(fw.out, '\n')
	s.rest = s.rest[:0]
}

// unchanged reports whether s's file still starts with the bytes it
// started with when read: a truncation, whether or not the file has
// grown again since, changes them or leaves fewer.
func (fw *follower) unchanged(s *source) bool {
	n, _ := s.f.ReadAt(fw.scratch[:len(s.fp)], 0)
	return n == len(s.fp) && bytes.Equal(fw.scratch[:n], s.fp)
}

// truncated goes on after s's file was truncated since its first bytes
// were last checked. chunk, if any, was read at s.off in the meantime.
func (fw *follower) truncated(s *source, chunk []byte) {
	// The chunk was the old content unless the file now holds it where it
	// was read: then it was written after the truncation, and is read
	// again below, in its place.
	if len(chunk) > 0 && !fw.holds(s.f, s.off, chunk) {
		s.off += int64(len(chunk))
		fw.take(s, chunk)
	}
	// What had not been read yet is in the copy, if it is still beside
	// the file; the stream goes on in it, then in the file from its start.
	if c := fw.findCopy(s); c != nil {
		s.copy, s.copyOff = c, s.off
	} else {
		// The rest of a held line is lost: it is not handed out torn.
		s.rest, s.skip = s.rest[:0], false
	}
	if _, err := s.f.Seek(0, io.SeekStart); err == nil {
		s.off, s.fp = 0, s.fp[:0]
	}
	if info, err := s.f.Stat(); err == nil {
		s.info = info
	}
}

// holds reports whether f holds b at off.
func (fw *follower) holds(f *os.File, off int64, b []byte) bool {
	for len(b) > 0 {
		k := min(len(b), len(fw.scratch))
		n, _ := f.ReadAt(fw.scratch[:k], off)
		if n < k || !bytes.Equal(fw.scratch[:k], b[:k]) {
			return false
		}
		b, off = b[k:], off+int64(k)
	}
	return true
}

// findCopy opens the copy of s's file that a copy and truncate left
// beside it: a file named after it (access.log.1, access.log-20260101)
// that starts with s's fingerprint and is at least as long as what was
// read. logrotate compresses the copy only after the truncation, and
// with delaycompress not at all until the next rotation.
func (fw *follower) findCopy(s *source) *os.File {
	if s.off == 0 {
		return nil
	}
	dir, base := filepath.Split(fw.path)
	entries, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		return nil
	}
	for _, e := range entries {
		if e.Name() == base || !strings.HasPrefix(e.Name(), base) || !e.Type().IsRegular() {
			continue
		}
		c, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if info, err := c.Stat(); err == nil && info.Size() >= s.off && fw.holds(c, 0, s.fp) {
			return c
		}
		c.Close()
	}
	return nil
}

// look looks at the path once every file held is read to its end.
func (fw *follower) look() (bool, error) {
	info, err := os.Stat(fw.path)
	if err != nil {
		return false, nil // between a rename and a create: wait
	}
	if fw.cur == nil || !os.SameFile(info, fw.cur.info) {
		if fw.cur != nil {
			// Renamed away: what was appended before is read first.
			if moved, err := fw.pull(fw.cur, false); moved || err != nil {
				return moved, err
			}
		}
		return fw.reopen(), nil
	}
	if !fw.unchanged(fw.cur) {
		fw.truncated(fw.cur, nil)
		return true, nil
	}
	return false, nil
}

// reopen switches to the file now at the path, from its start; the one
// it replaces is kept, for what its writer still appends, until the next
// rotation or until it is removed.
func (fw *follower) reopen() bool {
	f, err := os.Open(fw.path)
	if err != nil {
		return false
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return false
	}
	fw.retire()
	fw.prev, fw.cur = fw.cur, &source{f: f, info: info, buf: make([]byte, chunkLen)}
	return true
}

// retire reads the renamed-away file to its end and lets it go.
func (fw *follower) retire() {
	if fw.prev == nil {
		return
	}
	for {
		if moved, _ := fw.pull(fw.prev, false); !moved {
			break
		}
	}
	if len(fw.prev.rest) > 0 {
		fw.end(fw.prev)
	}
	fw.prev.close()
	fw.prev = nil
}

func (fw *follower) at(p point) {
	if fw.hook != nil {
		fw.hook(p)
	}
}

// wait waits for a wake-up, a poll, or the end; false at the end.
func (fw *follower) wait() bool {
	fw.at(atWait)
	t := time.NewTimer(fw.poll)
	defer t.Stop()
	select {
	case <-fw.ctx.Done():
		return false
	case <-fw.wake:
	case <-t.C:
	}
	return fw.ctx.Err() == nil
}

func (s *source) close() {
	if s.copy != nil {
		s.copy.Close()
	}
	s.f.Close()
}

func (fw *follower) Close() error {
	if fw.unwatch != nil {
		fw.unwatch()
	}
	if fw.prev != nil {
		fw.prev.close()
	}
	if fw.cur != nil {
		fw.cur.close()
	}
	return nil
}
