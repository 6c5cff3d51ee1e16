package logs

import (
	"context"
	"io"
	"os"
	"time"
)

// follower reads a file like tail -F: at its end it waits for more, and
// when the path is replaced (rotation by rename) or the file shrinks
// (rotation by copy and truncate) it goes on from the new content. It
// holds one file open and no buffer of its own.
type follower struct {
	ctx  context.Context
	path string
	poll time.Duration

	f      *os.File
	info   os.FileInfo // of f
	offset int64
	// midLine: the last byte handed out was not a newline. Before the
	// next file's first byte a newline is handed out, so that a line cut
	// by rotation does not run into the next file's first line.
	midLine bool
}

// Follow returns a reader of the file at path that, like tail -F, starts
// at its end, waits there for more, and follows the path across rotation
// (rename or copy-and-truncate), reading a new file from its start. It
// polls every poll. The reader ends, with io.EOF, when ctx does. A path
// that does not exist yet is waited for.
func Follow(ctx context.Context, path string, poll time.Duration) io.ReadCloser {
	fw := &follower{ctx: ctx, path: path, poll: poll}
	if f, err := os.Open(path); err == nil {
		if info, err := f.Stat(); err == nil {
			fw.f, fw.info = f, info
			fw.offset, _ = f.Seek(0, io.SeekEnd)
		} else {
			f.Close()
		}
	}
	return fw
}

func (fw *follower) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if n, err := fw.read(p); n > 0 || err != nil {
			return n, err
		}
		// At the end: has the path moved on?
		if info, err := os.Stat(fw.path); err == nil {
			switch {
			case fw.f == nil || !os.SameFile(info, fw.info):
				// What was appended to the old file after the read above
				// that found its end, and before the rename, is read
				// first (tail -F does the same).
				if n, err := fw.read(p); n > 0 || err != nil {
					return n, err
				}
				if fw.reopen() {
					if n := fw.newline(p); n > 0 {
						return n, nil
					}
					continue
				}
			case info.Size() < fw.offset:
				if _, err := fw.f.Seek(0, io.SeekStart); err == nil {
					fw.offset = 0
					if n := fw.newline(p); n > 0 {
						return n, nil
					}
					continue
				}
			}
		}
		select {
		case <-fw.ctx.Done():
			return 0, io.EOF
		case <-time.After(fw.poll):
		}
	}
}

// read reads from the file held, if any; at its end it returns 0, nil.
func (fw *follower) read(p []byte) (int, error) {
	if fw.f == nil {
		return 0, nil
	}
	n, err := fw.f.Read(p)
	if n > 0 {
		fw.offset += int64(n)
		fw.midLine = p[n-1] != '\n'
		return n, nil
	}
	if err != nil && err != io.EOF {
		return 0, err
	}
	return 0, nil
}

// reopen switches to the file now at the path, from its start.
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
	if fw.f != nil {
		fw.f.Close()
	}
	fw.f, fw.info, fw.offset = f, info, 0
	return true
}

// newline ends a line cut by rotation.
func (fw *follower) newline(p []byte) int {
	if !fw.midLine {
		return 0
	}
	fw.midLine = false
	p[0] = '\n'
	return 1
}

func (fw *follower) Close() error {
	if fw.f != nil {
		return fw.f.Close()
	}
	return nil
}
