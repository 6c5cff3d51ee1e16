package kinesis

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// checkpoint is each shard's last handled sequence number, kept in a
// file that is replaced whole (a synced temporary file renamed over it,
// then the directory synced), so that a crash leaves the old positions or
// the new ones, never a mix or nothing.
type checkpoint struct {
	path string
	mu   sync.Mutex
	file checkpointFile
}

type checkpointFile struct {
	Stream string `json:"stream"`
	// Part and Parts are the split the file was written under: under
	// another, its shards would be another consumer's.
	Part   int                   `json:"part"`
	Parts  int                   `json:"parts"`
	Shards map[string]*shardMark `json:"shards"`
}

type shardMark struct {
	// Seq is the last sequence number handled.
	Seq string `json:"seq,omitempty"`
	// Ended is set once the closed shard was read to its end.
	Ended bool `json:"ended,omitempty"`
}

func loadCheckpoint(path, stream string, part, parts int) (*checkpoint, error) {
	cp := &checkpoint{path: path, file: checkpointFile{Stream: stream, Part: part, Parts: parts, Shards: map[string]*shardMark{}}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cp, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kinesis: reading the checkpoint: %w", err)
	}
	var f checkpointFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("kinesis: checkpoint %s: %w", path, err)
	}
	switch {
	case f.Stream != stream:
		return nil, fmt.Errorf("kinesis: checkpoint %s is stream %q's, not %q: give each stream its own --kinesis-checkpoint", path, f.Stream, stream)
	case f.Part != part || f.Parts != parts:
		return nil, fmt.Errorf("kinesis: checkpoint %s was written by consumer %d/%d, not %d/%d: the shards of a part change with the split (remove every part's checkpoint to split anew, with --kinesis-latest to skip what was read)",
			path, f.Part, f.Parts, part, parts)
	}
	if f.Shards != nil {
		cp.file.Shards = f.Shards
	}
	return cp, nil
}

func (cp *checkpoint) seq(shard string) string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	if m := cp.file.Shards[shard]; m != nil {
		return m.Seq
	}
	return ""
}

func (cp *checkpoint) ended(shard string) bool {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	m := cp.file.Shards[shard]
	return m != nil && m.Ended
}

// set records a shard's position and writes the file.
func (cp *checkpoint) set(shard, seq string, ended bool) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.file.Shards[shard] = &shardMark{Seq: seq, Ended: ended}
	return cp.write()
}

// prune drops the shards that are no longer listed: they expired from
// the stream, and so did anything left to read in them.
func (cp *checkpoint) prune(listed []types.Shard) error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	keep := make(map[string]bool, len(listed))
	for _, s := range listed {
		keep[aws.ToString(s.ShardId)] = true
	}
	n := len(cp.file.Shards)
	for id := range cp.file.Shards {
		if !keep[id] {
			delete(cp.file.Shards, id)
		}
	}
	if len(cp.file.Shards) == n {
		return nil
	}
	return cp.write()
}

func (cp *checkpoint) write() error {
	data, err := json.Marshal(&cp.file)
	if err != nil {
		return err
	}
	dir := filepath.Dir(cp.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(cp.path)+".*")
	if err == nil {
		_, err = tmp.Write(data)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), cp.path)
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("kinesis: writing the checkpoint: %w", err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
