// Package esdbstore is the events.Store on an EventStoreDB (KurrentDB)
// cluster, through the official gRPC client. It is the only package that
// imports that client, so binaries that only run the embedded store do not
// link gRPC.
package esdbstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/status"

	"github.com/yunqi-town/yunqi/events"
)

// Options tune the adapter; the zero value is usable.
type Options struct {
	Logger *slog.Logger // nil: discard
	// ReconnectFor is how long a subscription keeps trying to resubscribe
	// after losing its connection before it yields the failure; zero means
	// one minute.
	ReconnectFor time.Duration
}

// Store is the EventStoreDB-backed events.Store.
type Store struct {
	cfg  *esdb.Configuration
	log  *slog.Logger
	opts Options

	mu     sync.Mutex
	client *esdb.Client
	closed bool
}

var _ events.Store = (*Store)(nil)

// Open connects to the server named by an esdb:// connection string. The
// client connects lazily, so an unreachable server is reported by the first
// operation, not here.
func Open(url string, opts Options) (*Store, error) {
	cfg, err := esdb.ParseConnectionString(url)
	if err != nil {
		return nil, fmt.Errorf("esdbstore: %w", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ReconnectFor <= 0 {
		opts.ReconnectFor = time.Minute
	}
	// The client logs every dropped stream at error level on stdout; the
	// adapter reports what matters through its own logger instead.
	cfg.Logger = func(esdb.LogLevel, string, ...any) {}
	c, err := esdb.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("esdbstore: %w", err)
	}
	return &Store{cfg: cfg, log: opts.Logger, opts: opts, client: c}, nil
}

// conn returns the current client. The v4 client closes itself for good
// when a rediscovery fails (the server was down for longer than its
// discovery attempts), so a closed client is replaced by a fresh one rather
// than leaving the store dead until a restart.
func (s *Store) conn() (*esdb.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("esdbstore: store is closed")
	}
	return s.client, nil
}

func (s *Store) renew(old *esdb.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.client != old {
		return
	}
	c, err := esdb.NewClient(s.cfg)
	if err != nil {
		return
	}
	old.Close()
	s.client = c
	s.log.Info("esdbstore: client closed itself after a failed rediscovery; replaced it")
}

// do runs op once, and once more on a fresh client when the client had
// closed itself: that error says nothing about the operation.
func do[T any](s *Store, op func(c *esdb.Client) (T, error)) (T, error) {
	c, err := s.conn()
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := op(c)
	if isClientClosed(err) {
		s.renew(c)
		if c, err = s.conn(); err != nil {
			var zero T
			return zero, err
		}
		v, err = op(c)
	}
	return v, err
}

func isClientClosed(err error) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == esdb.ErrorCodeConnectionClosed
}

func (s *Store) Capabilities() events.Capabilities { return events.Capabilities{} }

func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.client.Close()
}

// probeRevision is an expected revision no stream reaches: appending with it
// always fails, and the failure tells the stream's current revision.
const probeRevision = math.MaxInt64 - 1

func toExpected(e events.ExpectedRevision) esdb.ExpectedRevision {
	switch {
	case e.IsNoStream():
		return esdb.NoStream{}
	case e.IsStreamExists():
		return esdb.StreamExists{}
	}
	if n, ok := e.Revision(); ok {
		return esdb.Revision(n)
	}
	return esdb.Any{}
}

func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedRevision, evs ...events.Proposed) (events.AppendResult, error) {
	metas, err := events.ValidateAppend(stream, evs)
	if err != nil {
		return events.AppendResult{}, err
	}
	data := make([]esdb.EventData, len(evs))
	for i, e := range evs {
		data[i] = esdb.EventData{EventID: e.ID, EventType: e.Type, ContentType: esdb.ContentTypeJson, Data: e.Data, Metadata: metas[i]}
	}
	if expected.IsNoStream() {
		// EventStoreDB lets the first NoStream append after a soft delete
		// through and continues the old revisions; the contract says a
		// stream that has had events is not "no stream". A soft delete
		// leaves a truncate-before in the stream's metadata, so only
		// streams carrying one need the extra check.
		if had, actual, err := s.hadEvents(ctx, stream, data); err != nil {
			return events.AppendResult{}, err
		} else if had {
			return events.AppendResult{}, &events.WrongExpectedRevisionError{Stream: stream, Expected: expected, Actual: actual}
		}
	}
	res, err := do(s, func(c *esdb.Client) (*esdb.WriteResult, error) {
		return c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: toExpected(expected)}, data...)
	})
	if err != nil {
		return events.AppendResult{}, s.mapError(ctx, err, stream, expected)
	}
	out := events.AppendResult{NextExpected: res.NextExpectedVersion, Position: events.Position{Commit: res.CommitPosition, Prepare: res.PreparePosition}}
	if out.Position.IsStart() {
		// An idempotent replay may come back without a position; the
		// contract promises where the original events are.
		got, err := s.ReadStream(ctx, stream, events.ReadOptions{From: out.NextExpected, Count: 1})
		if err == nil && len(got) == 1 {
			out.Position = got[0].Position
		}
	}
	return out, nil
}

// hadEvents tells whether a stream that a NoStream append targets has had
// events that a soft delete hid, and the revision of the last of them.
func (s *Store) hadEvents(ctx context.Context, stream string, data []esdb.EventData) (bool, events.StreamState, error) {
	tb, err := s.truncateBefore(ctx, stream)
	if err != nil || tb == nil {
		return false, events.StreamState{}, err
	}
	_, err = do(s, func(c *esdb.Client) (*esdb.WriteResult, error) {
		return c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(probeRevision)}, data...)
	})
	if err == nil {
		return false, events.StreamState{}, fmt.Errorf("esdbstore: probe append to %q at revision %d went through", stream, uint64(probeRevision))
	}
	var wer *events.WrongExpectedRevisionError
	if errors.As(s.mapError(ctx, err, stream, events.Exact(probeRevision)), &wer) {
		return wer.Actual.Exists, wer.Actual, nil
	}
	return false, events.StreamState{}, s.mapError(ctx, err, stream, events.NoStream)
}

// truncateBefore reads $tb from the stream's metadata stream, nil when unset.
func (s *Store) truncateBefore(ctx context.Context, stream string) (*uint64, error) {
	evs, err := s.readRaw(ctx, "$$"+stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil {
		if errors.Is(err, events.ErrStreamNotFound) {
			return nil, nil
		}
		return nil, err
	}
	if len(evs) == 0 {
		return nil, nil
	}
	var md struct {
		TB *uint64 `json:"$tb"`
	}
	if err := json.Unmarshal(evs[0].Data, &md); err != nil {
		return nil, fmt.Errorf("esdbstore: metadata of %q: %w", stream, err)
	}
	return md.TB, nil
}

// The client reports the current revision of a failed append only in its
// message ("expecting 'x' but got 'y'"), and of a failed delete only in the
// server's status message ("Actual version: n").
var (
	appendCurrent = regexp.MustCompile(`but got '([^']*)'`)
	deleteActual  = regexp.MustCompile(`Actual version: (-?\d+)`)
)

func (s *Store) mapError(ctx context.Context, err error, stream string, expected events.ExpectedRevision) error {
	var e *esdb.Error
	if !errors.As(err, &e) {
		if errors.Is(err, events.ErrStreamNotFound) {
			return err
		}
		return fmt.Errorf("esdbstore: stream %q: %w", stream, err)
	}
	switch e.Code() {
	case esdb.ErrorCodeStreamDeleted:
		return &events.StreamDeletedError{Stream: stream}
	case esdb.ErrorCodeResourceNotFound:
		return events.ErrStreamNotFound
	case esdb.ErrorCodeWrongExpectedVersion:
		if m := appendCurrent.FindStringSubmatch(e.Error()); m != nil {
			if st, ok := parseState(m[1]); ok {
				return &events.WrongExpectedRevisionError{Stream: stream, Expected: expected, Actual: st}
			}
		}
		return s.wrongRevision(ctx, stream, expected, e)
	}
	if st, ok := status.FromError(e.Err()); ok {
		if m := deleteActual.FindStringSubmatch(st.Message()); m != nil {
			if v, ok := parseState(m[1]); ok {
				return &events.WrongExpectedRevisionError{Stream: stream, Expected: expected, Actual: v}
			}
		}
		if strings.Contains(st.Message(), "WrongExpectedVersion") {
			return s.wrongRevision(ctx, stream, expected, e)
		}
	}
	return fmt.Errorf("esdbstore: stream %q: %w", stream, err)
}

// wrongRevision is the fallback when a server's message did not carry the
// actual revision: the last revision read now is the best available answer.
func (s *Store) wrongRevision(ctx context.Context, stream string, expected events.ExpectedRevision, cause error) error {
	last, err := s.ReadStream(ctx, stream, events.ReadOptions{Direction: events.Backwards, FromEnd: true, Count: 1})
	st := events.StreamState{}
	if err == nil && len(last) == 1 {
		st = events.StreamState{Exists: true, Revision: last[0].Revision}
	} else if err != nil && !errors.Is(err, events.ErrStreamNotFound) {
		return fmt.Errorf("esdbstore: stream %q: %w", stream, cause)
	}
	return &events.WrongExpectedRevisionError{Stream: stream, Expected: expected, Actual: st}
}

func parseState(s string) (events.StreamState, bool) {
	if s == "no_stream" || s == "-1" {
		return events.StreamState{}, true
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return events.StreamState{}, false
	}
	return events.StreamState{Exists: true, Revision: n}, true
}

// readRaw reads up to count events of one stream as the client returns them.
func (s *Store) readRaw(ctx context.Context, stream string, opts esdb.ReadStreamOptions, count uint64) ([]*esdb.RecordedEvent, error) {
	return do(s, func(c *esdb.Client) ([]*esdb.RecordedEvent, error) {
		rs, err := c.ReadStream(ctx, stream, opts, count)
		if err != nil {
			return nil, err
		}
		defer rs.Close()
		var out []*esdb.RecordedEvent
		for {
			r, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				var e *esdb.Error
				if errors.As(err, &e) && e.Code() == esdb.ErrorCodeResourceNotFound {
					return nil, events.ErrStreamNotFound
				}
				return nil, err
			}
			if r.Event != nil {
				out = append(out, r.Event)
			}
		}
	})
}

// streamPage bounds one request of a read to the end of a stream, which the
// client can only express as a count.
const streamPage = 1000

func (s *Store) ReadStream(ctx context.Context, stream string, opts events.ReadOptions) ([]events.Event, error) {
	if err := events.ValidateStreamName(stream); err != nil {
		return nil, err
	}
	dir := esdb.Forwards
	if opts.Direction == events.Backwards {
		dir = esdb.Backwards
	}
	var from esdb.StreamPosition = esdb.Revision(opts.From)
	if opts.FromEnd {
		from = esdb.End{}
		if dir == esdb.Forwards {
			// EventStoreDB reads nothing forwards from the end; the
			// contract starts at the last event, which is then the only
			// one to read.
			dir, opts.Count = esdb.Backwards, 1
		}
	}
	var out []events.Event
	for {
		want := uint64(streamPage)
		if opts.Count > 0 && uint64(opts.Count-len(out)) < want {
			want = uint64(opts.Count - len(out))
		}
		raw, err := s.readRaw(ctx, stream, esdb.ReadStreamOptions{Direction: dir, From: from}, want)
		if err != nil {
			if errors.Is(err, events.ErrStreamNotFound) && len(out) > 0 {
				return out, nil
			}
			return nil, s.mapError(ctx, err, stream, events.Any)
		}
		for _, r := range raw {
			e, err := toEvent(r)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if uint64(len(raw)) < want || (opts.Count > 0 && len(out) >= opts.Count) {
			return out, nil
		}
		last := raw[len(raw)-1].EventNumber
		if dir == esdb.Forwards {
			from = esdb.Revision(last + 1)
		} else {
			if last == 0 {
				return out, nil
			}
			from = esdb.Revision(last - 1)
		}
	}
}

func toEvent(r *esdb.RecordedEvent) (events.Event, error) {
	e := events.Event{
		ID: r.EventID, Stream: r.StreamID, Type: r.EventType, Revision: r.EventNumber,
		Position: events.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare},
		Recorded: r.CreatedDate, Data: json.RawMessage(r.Data),
	}
	if len(r.UserMetadata) > 0 {
		if err := json.Unmarshal(r.UserMetadata, &e.Metadata); err != nil {
			// An event written by another tool may carry metadata that
			// is not ours; the event itself is still history.
			e.Metadata = events.Metadata{}
		}
	}
	return e, nil
}

func system(r *esdb.RecordedEvent) bool { return strings.HasPrefix(r.EventType, "$") }

// allPage is how many $all records one request asks for; system events
// are dropped from it, so a page may need several requests.
const allPage = 1000

func (s *Store) readAllRaw(ctx context.Context, opts esdb.ReadAllOptions, count uint64) ([]*esdb.RecordedEvent, error) {
	return do(s, func(c *esdb.Client) ([]*esdb.RecordedEvent, error) {
		rs, err := c.ReadAll(ctx, opts, count)
		if err != nil {
			return nil, err
		}
		defer rs.Close()
		var out []*esdb.RecordedEvent
		for {
			r, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			if err != nil {
				return nil, fmt.Errorf("esdbstore: read $all: %w", err)
			}
			if r.Event != nil {
				out = append(out, r.Event)
			}
		}
	})
}

func (s *Store) ReadAll(ctx context.Context, opts events.ReadAllOptions) ([]events.Event, error) {
	n := opts.Count
	if n <= 0 {
		n = events.DefaultPageSize
	}
	var out []events.Event
	if !opts.Backwards {
		// EventStoreDB reads forwards from a position inclusively; the
		// contract reads strictly after it.
		after := opts.After
		var from esdb.AllPosition = esdb.Start{}
		if !after.IsStart() {
			from = esdb.Position{Commit: after.Commit, Prepare: after.Prepare}
		}
		for len(out) < n {
			raw, err := s.readAllRaw(ctx, esdb.ReadAllOptions{Direction: esdb.Forwards, From: from}, allPage)
			if err != nil {
				return nil, err
			}
			progressed := false
			for _, r := range raw {
				p := events.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare}
				if p.Compare(after) <= 0 {
					continue
				}
				after, progressed = p, true
				if system(r) {
					continue
				}
				e, _ := toEvent(r)
				if out = append(out, e); len(out) == n {
					return out, nil
				}
			}
			if len(raw) < allPage || !progressed {
				return out, nil
			}
			from = esdb.Position{Commit: after.Commit, Prepare: after.Prepare}
		}
		return out, nil
	}
	before := opts.Before
	var from esdb.AllPosition = esdb.End{}
	if !before.IsStart() {
		from = esdb.Position{Commit: before.Commit, Prepare: before.Prepare}
	}
	for len(out) < n {
		raw, err := s.readAllRaw(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, allPage)
		if err != nil {
			return nil, err
		}
		progressed := false
		for _, r := range raw {
			p := events.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare}
			if !before.IsStart() && p.Compare(before) >= 0 {
				continue
			}
			before, progressed = p, true
			if system(r) {
				continue
			}
			e, _ := toEvent(r)
			if out = append(out, e); len(out) == n {
				return out, nil
			}
		}
		if len(raw) < allPage || !progressed {
			return out, nil
		}
		from = esdb.Position{Commit: before.Commit, Prepare: before.Prepare}
	}
	return out, nil
}

// Head skips system events so that it agrees with ReadAll: nothing ReadAll
// returns lies after it.
func (s *Store) Head(ctx context.Context) (events.Position, error) {
	last, err := s.ReadAll(ctx, events.ReadAllOptions{Backwards: true, Count: 1})
	if err != nil || len(last) == 0 {
		return events.Start, err
	}
	return last[0].Position, nil
}

func (s *Store) Delete(ctx context.Context, stream string, expected events.ExpectedRevision) error {
	return s.deleteStream(ctx, stream, expected, false)
}

func (s *Store) Tombstone(ctx context.Context, stream string, expected events.ExpectedRevision) error {
	return s.deleteStream(ctx, stream, expected, true)
}

func (s *Store) deleteStream(ctx context.Context, stream string, expected events.ExpectedRevision, forever bool) error {
	if err := events.ValidateStreamName(stream); err != nil {
		return err
	}
	_, err := do(s, func(c *esdb.Client) (*esdb.DeleteResult, error) {
		if forever {
			return c.TombstoneStream(ctx, stream, esdb.TombstoneStreamOptions{ExpectedRevision: toExpected(expected)})
		}
		return c.DeleteStream(ctx, stream, esdb.DeleteStreamOptions{ExpectedRevision: toExpected(expected)})
	})
	if err != nil {
		return s.mapError(ctx, err, stream, expected)
	}
	return nil
}
