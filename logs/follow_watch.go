package logs

import (
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// watch watches the directory of path through inotify (or the system's
// like) for anything happening to the file, its copies or the file it
// was renamed to, all named after it. The channel holds one wake-up at
// most: a follower woken reads all there is. Without a watcher (a
// directory that does not exist yet, no inotify instances left) it
// returns a nil channel, and the follower polls.
func watch(path string) (<-chan struct{}, func()) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, nil
	}
	dir, base := filepath.Split(path)
	if err := w.Add(filepath.Clean(dir)); err != nil {
		w.Close()
		return nil, nil
	}
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	go func() {
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if strings.HasPrefix(filepath.Base(ev.Name), base) {
					poke()
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
				// An overflow loses events: look anyway.
				poke()
			}
		}
	}()
	return wake, func() { w.Close() }
}
