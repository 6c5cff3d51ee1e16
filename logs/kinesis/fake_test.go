package kinesis

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeKinesis is a Kinesis data stream on 127.0.0.1 that answers the
// Kinesis JSON 1.1 protocol the SDK speaks (POST /, X-Amz-Target
// Kinesis_20131202.<Operation>, Content-Type application/x-amz-json-1.1,
// blobs in base64, errors as {"__type": ...}) for the operations Consume
// calls, modelled on the API reference:
//   - ListShards, https://docs.aws.amazon.com/kinesis/latest/APIReference/API_ListShards.html:
//     pages of MaxResults shards with a NextToken, which must then come
//     without StreamName; closed shards carry an EndingSequenceNumber;
//     children name ParentShardId and, after a merge, AdjacentParentShardId.
//   - GetShardIterator, https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetShardIterator.html:
//     TRIM_HORIZON, LATEST, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP.
//   - GetRecords, https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html:
//     at most Limit records; no NextShardIterator and ChildShards once a
//     closed shard is read to its end; ExpiredIteratorException and
//     ProvisionedThroughputExceededException (HTTP 400).
//
// Faults are injected per shard, so that they do not depend on how the
// shards' readers interleave.
type fakeKinesis struct {
	stream string
	// page is ListShards' page size; perCall is GetRecords' batch size.
	page, perCall int
	// expire fails every expire-th GetRecords call of a shard with
	// ExpiredIteratorException; throttle every throttle-th with
	// ProvisionedThroughputExceededException; limit every limit-th
	// ListShards call with LimitExceededException and GetShardIterator
	// call of a shard with ProvisionedThroughputExceededException.
	// throttleFirst throttles the first throttleFirst GetRecords calls of
	// each shard, in a row.
	expire, throttle, limit, throttleFirst int
	// onExpire, if set, is called as a shard's iterator expires.
	onExpire func(*fakeShard)

	mu     sync.Mutex
	shards []*fakeShard
	iters  map[string]fakeIter
	issued int
	calls  map[string]int
	// types counts GetShardIterator calls by shard and iterator type.
	types map[string]int
}

type fakeShard struct {
	id, parent, adjacent string
	// data is each record's Data, arrived at each arrival; a closed shard
	// ends after its last record.
	data    []string
	arrived []time.Time
	closed  bool
	base    int64
	// gets and iters count the shard's GetRecords and GetShardIterator
	// calls.
	gets, iters int
}

type fakeIter struct {
	shard *fakeShard
	pos   int
}

func (s *fakeShard) seq(i int) string { return strconv.FormatInt(s.base+int64(i), 10) }

func (f *fakeKinesis) start(t testing.TB) *httptest.Server {
	f.iters, f.calls, f.types = map[string]fakeIter{}, map[string]int{}, map[string]int{}
	for i, s := range f.shards {
		s.base = int64(i+1) * 1_000_000_000
		for len(s.arrived) < len(s.data) {
			s.arrived = append(s.arrived, time.Now())
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return srv
}

// add appends records to a shard while it is read.
func (f *fakeKinesis) add(id string, data ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shard(id).add(data...)
}

func (s *fakeShard) add(data ...string) {
	for _, d := range data {
		s.data = append(s.data, d)
		s.arrived = append(s.arrived, time.Now())
	}
}

func (f *fakeKinesis) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

type apiError struct {
	code, message string
}

func (f *fakeKinesis) serve(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "Kinesis_20131202.")
	var in map[string]any
	if r.Method != http.MethodPost || !ok || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
		!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") || json.NewDecoder(r.Body).Decode(&in) != nil {
		http.Error(w, "not a signed Kinesis JSON 1.1 request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.calls[op]++
	var out any
	var e *apiError
	switch op {
	case "ListShards":
		out, e = f.listShards(in, f.calls[op])
	case "GetShardIterator":
		out, e = f.getShardIterator(in)
	case "GetRecords":
		out, e = f.getRecords(in)
	default:
		e = &apiError{"UnknownOperationException", op}
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if e != nil {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.message})
		return
	}
	json.NewEncoder(w).Encode(out)
}

func every(n, k int) bool { return k > 0 && n%k == 0 }

func invalid(message string) *apiError { return &apiError{"InvalidArgumentException", message} }

func (f *fakeKinesis) listShards(in map[string]any, n int) (any, *apiError) {
	if every(n, f.limit) {
		return nil, &apiError{"LimitExceededException", "Rate exceeded for stream " + f.stream}
	}
	from := 0
	if tok, ok := in["NextToken"].(string); ok {
		if in["StreamName"] != nil {
			return nil, invalid("NextToken and StreamName cannot be provided together")
		}
		var err error
		if from, err = strconv.Atoi(tok); err != nil {
			return nil, &apiError{"ExpiredNextTokenException", "bad token"}
		}
	} else if in["StreamName"] != f.stream {
		return nil, &apiError{"ResourceNotFoundException", "no such stream"}
	}
	to := min(from+f.page, len(f.shards))
	shards := []map[string]any{}
	for _, s := range f.shards[from:to] {
		rng := map[string]any{"StartingSequenceNumber": s.seq(0)}
		if s.closed {
			rng["EndingSequenceNumber"] = s.seq(len(s.data))
		}
		sh := map[string]any{"ShardId": s.id, "SequenceNumberRange": rng,
			"HashKeyRange": map[string]string{"StartingHashKey": "0", "EndingHashKey": "340282366920938463463374607431768211455"}}
		if s.parent != "" {
			sh["ParentShardId"] = s.parent
		}
		if s.adjacent != "" {
			sh["AdjacentParentShardId"] = s.adjacent
		}
		shards = append(shards, sh)
	}
	out := map[string]any{"Shards": shards}
	if to < len(f.shards) {
		out["NextToken"] = strconv.Itoa(to)
	}
	return out, nil
}

func (f *fakeKinesis) shard(id string) *fakeShard {
	for _, s := range f.shards {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (f *fakeKinesis) getShardIterator(in map[string]any) (any, *apiError) {
	s := f.shard(fmt.Sprint(in["ShardId"]))
	if in["StreamName"] != f.stream || s == nil {
		return nil, &apiError{"ResourceNotFoundException", "no such shard"}
	}
	if s.iters++; every(s.iters, f.limit) {
		return nil, &apiError{"ProvisionedThroughputExceededException", "Rate exceeded for shard " + s.id}
	}
	typ := fmt.Sprint(in["ShardIteratorType"])
	f.types[s.id+" "+typ]++
	pos := 0
	switch typ {
	case "TRIM_HORIZON":
	case "LATEST":
		pos = len(s.data)
	case "AFTER_SEQUENCE_NUMBER":
		seq, err := strconv.ParseInt(fmt.Sprint(in["StartingSequenceNumber"]), 10, 64)
		if err != nil || seq < s.base || seq >= s.base+int64(len(s.data)) {
			return nil, invalid("StartingSequenceNumber not in shard " + s.id)
		}
		pos = int(seq-s.base) + 1
	case "AT_TIMESTAMP":
		ts, ok := in["Timestamp"].(float64)
		if !ok {
			return nil, invalid("AT_TIMESTAMP needs a Timestamp")
		}
		for pos < len(s.data) && float64(s.arrived[pos].UnixNano())/1e9 < ts {
			pos++
		}
	default:
		return nil, invalid("unsupported ShardIteratorType")
	}
	return map[string]string{"ShardIterator": f.iterator(s, pos)}, nil
}

func (f *fakeKinesis) iterator(s *fakeShard, pos int) string {
	// Numbered by a counter, not by len(f.iters): expired ones are
	// deleted, and a reused token would hand one shard's iterator to
	// another's reader.
	f.issued++
	it := fmt.Sprintf("AAAAAAAA%d", f.issued)
	f.iters[it] = fakeIter{s, pos}
	return it
}

func (f *fakeKinesis) getRecords(in map[string]any) (any, *apiError) {
	tok := fmt.Sprint(in["ShardIterator"])
	it, ok := f.iters[tok]
	if !ok {
		return nil, invalid("unknown or expired shard iterator " + tok)
	}
	s := it.shard
	s.gets++
	switch {
	case s.gets <= f.throttleFirst || every(s.gets, f.throttle):
		return nil, &apiError{"ProvisionedThroughputExceededException", "Rate exceeded for shard " + s.id}
	case every(s.gets, f.expire):
		delete(f.iters, tok)
		if f.onExpire != nil {
			f.onExpire(s)
		}
		return nil, &apiError{"ExpiredIteratorException", "Iterator expired"}
	}
	end := min(it.pos+f.perCall, len(s.data))
	recs := []map[string]any{}
	for i := it.pos; i < end; i++ {
		recs = append(recs, map[string]any{"SequenceNumber": s.seq(i), "PartitionKey": "k",
			"Data": []byte(s.data[i]), "ApproximateArrivalTimestamp": float64(s.arrived[i].UnixNano()) / 1e9})
	}
	out := map[string]any{"Records": recs, "MillisBehindLatest": 0}
	if len(s.data) > end {
		out["MillisBehindLatest"] = 1000
	}
	if !s.closed || end < len(s.data) {
		out["NextShardIterator"] = f.iterator(s, end)
		return out, nil
	}
	children := []map[string]any{}
	for _, c := range f.shards {
		if c.parent == s.id || c.adjacent == s.id {
			parents := []string{c.parent}
			if c.adjacent != "" {
				parents = append(parents, c.adjacent)
			}
			children = append(children, map[string]any{"ShardId": c.id, "ParentShards": parents})
		}
	}
	out["ChildShards"] = children
	return out, nil
}
