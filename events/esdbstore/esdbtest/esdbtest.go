// Package esdbtest is a stand-in EventStoreDB for tests: it serves the gRPC Streams API
// (event_store.client.streams.Streams, the server interface generated in the
// client module) on a loopback port over the SQLite store, so that the real
// client and real gRPC run in `go test`. It follows the protocol as the
// client and EventStoreDB's documentation describe it; where EventStoreDB's
// behaviour differs from the Store contract (NoStream after a soft delete),
// it behaves like EventStoreDB, so the adapter's corrections are exercised.
package esdbtest

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
)

// Server is the stand-in; Start serves one.
type Server struct {
	api.UnimplementedStreamsServer
	store *sqlitestore.Store

	// EventStoreDB records a soft delete as stream metadata ($tb, truncate
	// before) in the stream "$$name"; the SQLite store keeps it internally,
	// so the stand-in keeps the metadata stream's content here.
	mu   sync.RWMutex
	meta map[string]*softState

	srvMu sync.Mutex
	addr  string
	srv   *grpc.Server

	subscriptions atomic.Int64
}

type softState struct {
	tb      uint64 // math.MaxInt64 while deleted; then the first revived revision
	last    uint64 // the last revision when it was deleted
	hadAny  bool   // whether it had events when it was deleted
	metaRev uint64 // revision of the latest event in "$$name"
}

// Start opens a SQLite store in a temporary directory and serves it.
func Start(t testing.TB) *Server {
	t.Helper()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{store: st, meta: map[string]*softState{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = lis.Addr().String()
	s.serve(lis)
	t.Cleanup(func() {
		s.Stop()
		st.Close()
	})
	return s
}

// URL is the connection string of the stand-in.
func (s *Server) URL() string { return "esdb://" + s.addr + "?tls=false" }

func (s *Server) serve(lis net.Listener) {
	srv := grpc.NewServer()
	api.RegisterStreamsServer(srv, s)
	s.srvMu.Lock()
	s.srv = srv
	s.srvMu.Unlock()
	go srv.Serve(lis)
}

// Stop closes the listener and every connection, as a crashed server does.
func (s *Server) Stop() {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.srv != nil {
		s.srv.Stop()
		s.srv = nil
	}
}

// Restart serves again on the same port.
func (s *Server) Restart() error {
	lis, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.serve(lis)
	return nil
}

// --- errors as EventStoreDB reports them: a status with an "exception" trailer ---

func rpcException(ctx context.Context, code codes.Code, msg string, kv ...string) error {
	grpc.SetTrailer(ctx, metadata.Pairs(kv...))
	return status.Error(code, msg)
}

func streamDeleted(ctx context.Context, stream string) error {
	return rpcException(ctx, codes.FailedPrecondition, fmt.Sprintf("Event stream '%s' is deleted.", stream),
		"exception", "stream-deleted", "stream-name", stream)
}

// expectedVersion writes an expectation as EventStoreDB's numbers do.
func expectedVersion(e events.ExpectedRevision) int64 {
	switch {
	case e.IsNoStream():
		return -1
	case e.IsStreamExists():
		return -4
	}
	if n, ok := e.Revision(); ok {
		return int64(n)
	}
	return -2
}

func actualVersion(a events.StreamState) int64 {
	if !a.Exists {
		return -1
	}
	return int64(a.Revision)
}

func wrongVersion(ctx context.Context, op, stream string, w *events.WrongExpectedRevisionError) error {
	exp, act := expectedVersion(w.Expected), actualVersion(w.Actual)
	return rpcException(ctx, codes.FailedPrecondition,
		fmt.Sprintf("%s failed due to WrongExpectedVersion. Stream: %s, Expected version: %d, Actual version: %d", op, stream, exp, act),
		"exception", "wrong-expected-version", "stream-name", stream,
		"expected-version", strconv.FormatInt(exp, 10), "actual-version", strconv.FormatInt(act, 10))
}

func storeError(ctx context.Context, op, stream string, err error) error {
	var del *events.StreamDeletedError
	var wer *events.WrongExpectedRevisionError
	var big *events.TooLargeError
	switch {
	case errors.As(err, &del):
		return streamDeleted(ctx, stream)
	case errors.As(err, &wer):
		return wrongVersion(ctx, op, stream, wer)
	case errors.As(err, &big):
		return rpcException(ctx, codes.InvalidArgument, err.Error(), "exception", "maximum-append-size-exceeded")
	case errors.Is(err, events.ErrInvalidEvent):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

// --- requests ---

func expectedFromAppend(o *api.AppendReq_Options) events.ExpectedRevision {
	switch v := o.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Revision:
		return events.Exact(v.Revision)
	case *api.AppendReq_Options_NoStream:
		return events.NoStream
	case *api.AppendReq_Options_StreamExists:
		return events.StreamExists
	}
	return events.Any
}

func protoUUID(u *shared.UUID) (uuid.UUID, error) {
	if st := u.GetStructured(); st != nil {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], uint64(st.MostSignificantBits))
		binary.BigEndian.PutUint64(b[8:], uint64(st.LeastSignificantBits))
		return b, nil
	}
	return uuid.Parse(u.GetString_())
}

func toProtoUUID(id uuid.UUID) *shared.UUID {
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits:  int64(binary.BigEndian.Uint64(id[:8])),
		LeastSignificantBits: int64(binary.BigEndian.Uint64(id[8:])),
	}}}
}

func (s *Server) Append(as api.Streams_AppendServer) error {
	ctx := as.Context()
	first, err := as.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "the first append message must carry options")
	}
	stream := string(opts.GetStreamIdentifier().GetStreamName())
	expected := expectedFromAppend(opts)
	var evs []events.Proposed
	for {
		m, err := as.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		pm := m.GetProposedMessage()
		if pm == nil {
			return status.Error(codes.InvalidArgument, "expected a proposed message")
		}
		id, err := protoUUID(pm.GetId())
		if err != nil {
			return status.Error(codes.InvalidArgument, "bad event id")
		}
		if ct := pm.GetMetadata()["content-type"]; ct != "application/json" {
			return status.Errorf(codes.InvalidArgument, "the stand-in stores JSON events only, not %q", ct)
		}
		p := events.Proposed{ID: id, Type: pm.GetMetadata()["type"], Data: pm.GetData()}
		if len(pm.GetCustomMetadata()) > 0 {
			if err := json.Unmarshal(pm.GetCustomMetadata(), &p.Metadata); err != nil {
				return status.Errorf(codes.InvalidArgument, "custom metadata: %v", err)
			}
		}
		evs = append(evs, p)
	}
	if strings.HasPrefix(stream, "$") {
		return status.Error(codes.Unimplemented, "the stand-in does not write system or metadata streams")
	}

	res, err := s.append(ctx, stream, expected, evs)
	if err != nil {
		var wer *events.WrongExpectedRevisionError
		if errors.As(err, &wer) {
			w := &api.AppendResp_WrongExpectedVersion{}
			if wer.Actual.Exists {
				w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: wer.Actual.Revision}
			} else {
				w.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
			}
			switch n, ok := expected.Revision(); {
			case ok:
				w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: n}
			case expected.IsNoStream():
				w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
			case expected.IsStreamExists():
				w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
			default:
				w.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
			}
			return as.SendAndClose(&api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}})
		}
		return storeError(ctx, "Append", stream, err)
	}
	return as.SendAndClose(&api.AppendResp{Result: &api.AppendResp_Success_{Success: &api.AppendResp_Success{
		CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: res.NextExpected},
		PositionOption: &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
			CommitPosition: res.Position.Commit, PreparePosition: res.Position.Prepare,
		}},
	}}})
}

// append writes through to SQLite, keeping the stand-in's metadata of soft
// deleted streams current.
func (s *Server) append(ctx context.Context, stream string, expected events.ExpectedRevision, evs []events.Proposed) (events.AppendResult, error) {
	s.mu.RLock()
	_, deleted := s.meta[stream]
	s.mu.RUnlock()
	if !deleted {
		return s.store.Append(ctx, stream, expected, evs...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.meta[stream]
	if st == nil {
		return s.store.Append(ctx, stream, expected, evs...)
	}
	if expected.IsNoStream() && st.hadAny && st.tb == math.MaxInt64 {
		// EventStoreDB treats a soft-deleted stream as absent for NoStream
		// and continues its revisions.
		expected = events.Exact(st.last)
	}
	res, err := s.store.Append(ctx, stream, expected, evs...)
	if err != nil {
		return res, err
	}
	if firstNew := res.NextExpected + 1 - uint64(len(evs)); st.tb == math.MaxInt64 && (!st.hadAny || firstNew > st.last) {
		// Writing to a soft-deleted stream undeletes it: the server
		// rewrites $tb to the first new revision.
		st.tb = firstNew
		st.metaRev++
	}
	return res, nil
}

func (s *Server) Delete(ctx context.Context, req *api.DeleteReq) (*api.DeleteResp, error) {
	o := req.GetOptions()
	stream := string(o.GetStreamIdentifier().GetStreamName())
	exp := events.Any
	switch v := o.GetExpectedStreamRevision().(type) {
	case *api.DeleteReq_Options_Revision:
		exp = events.Exact(v.Revision)
	case *api.DeleteReq_Options_NoStream:
		exp = events.NoStream
	case *api.DeleteReq_Options_StreamExists:
		exp = events.StreamExists
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	last, hadAny := uint64(0), false
	if st := s.meta[stream]; st != nil && st.tb == math.MaxInt64 {
		last, hadAny = st.last, st.hadAny
	}
	if evs, err := s.store.ReadStream(ctx, stream, events.ReadOptions{Direction: events.Backwards, FromEnd: true, Count: 1}); err == nil && len(evs) == 1 {
		last, hadAny = evs[0].Revision, true
	}
	if err := s.store.Delete(ctx, stream, exp); err != nil {
		return nil, storeError(ctx, "Delete", stream, err)
	}
	st := s.meta[stream]
	if st == nil {
		st = &softState{}
		s.meta[stream] = st
	} else {
		st.metaRev++
	}
	st.tb, st.last, st.hadAny = math.MaxInt64, last, hadAny
	pos, err := s.store.Head(ctx)
	if err != nil {
		return nil, storeError(ctx, "Delete", stream, err)
	}
	return &api.DeleteResp{PositionOption: &api.DeleteResp_Position_{Position: &api.DeleteResp_Position{CommitPosition: pos.Commit, PreparePosition: pos.Prepare}}}, nil
}

func (s *Server) Tombstone(ctx context.Context, req *api.TombstoneReq) (*api.TombstoneResp, error) {
	o := req.GetOptions()
	stream := string(o.GetStreamIdentifier().GetStreamName())
	exp := events.Any
	switch v := o.GetExpectedStreamRevision().(type) {
	case *api.TombstoneReq_Options_Revision:
		exp = events.Exact(v.Revision)
	case *api.TombstoneReq_Options_NoStream:
		exp = events.NoStream
	case *api.TombstoneReq_Options_StreamExists:
		exp = events.StreamExists
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.store.Tombstone(ctx, stream, exp); err != nil {
		return nil, storeError(ctx, "Delete", stream, err)
	}
	delete(s.meta, stream)
	pos, err := s.store.Head(ctx)
	if err != nil {
		return nil, storeError(ctx, "Delete", stream, err)
	}
	return &api.TombstoneResp{PositionOption: &api.TombstoneResp_Position_{Position: &api.TombstoneResp_Position{CommitPosition: pos.Commit, PreparePosition: pos.Prepare}}}, nil
}

// --- reads and subscriptions ---

// recorded is an event as the server sends it; "created" is in .NET ticks
// (100 ns) since the Unix epoch, which the client requires.
func recorded(e events.Event) *api.ReadResp {
	md, _ := json.Marshal(e.Metadata)
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id:               toProtoUUID(e.ID),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(e.Stream)},
			StreamRevision:   e.Revision,
			PreparePosition:  e.Position.Prepare,
			CommitPosition:   e.Position.Commit,
			Metadata: map[string]string{
				"type": e.Type, "content-type": "application/json",
				"created": strconv.FormatInt(e.Recorded.UnixNano()/100, 10),
			},
			CustomMetadata: md,
			Data:           e.Data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: e.Position.Commit},
	}}}
}

func count(o *api.ReadReq_Options) int {
	n := o.GetCount()
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(n)
}

func (s *Server) Read(req *api.ReadReq, rs api.Streams_ReadServer) error {
	ctx := rs.Context()
	o := req.GetOptions()
	backwards := o.GetReadDirection() == api.ReadReq_Options_Backwards
	if o.GetSubscription() != nil {
		if o.GetAll() == nil {
			return status.Error(codes.Unimplemented, "the stand-in serves subscriptions to $all only")
		}
		return s.subscribe(ctx, o, rs)
	}
	if so := o.GetStream(); so != nil {
		stream := string(so.GetStreamIdentifier().GetStreamName())
		if strings.HasPrefix(stream, "$$") {
			return s.readMeta(strings.TrimPrefix(stream, "$$"), rs)
		}
		ro := events.ReadOptions{Count: count(o)}
		if backwards {
			ro.Direction = events.Backwards
		}
		switch v := so.GetRevisionOption().(type) {
		case *api.ReadReq_Options_StreamOptions_Revision:
			ro.From = v.Revision
		case *api.ReadReq_Options_StreamOptions_End:
			ro.FromEnd = true
		case *api.ReadReq_Options_StreamOptions_Start:
		}
		if ro.FromEnd && !backwards {
			return nil
		}
		if ro.Count == 0 {
			return nil
		}
		evs, err := s.store.ReadStream(ctx, stream, ro)
		if errors.Is(err, events.ErrStreamNotFound) {
			return rs.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
				StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(stream)},
			}}})
		}
		if err != nil {
			return storeError(ctx, "Read", stream, err)
		}
		for _, e := range evs {
			if err := rs.Send(recorded(e)); err != nil {
				return err
			}
		}
		return nil
	}
	all := o.GetAll()
	if all == nil {
		return status.Error(codes.InvalidArgument, "no stream option")
	}
	n := count(o)
	if n == 0 {
		return nil
	}
	ro := events.ReadAllOptions{Count: n, Backwards: backwards}
	switch v := all.GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Position:
		p := events.Position{Commit: v.Position.GetCommitPosition(), Prepare: v.Position.GetPreparePosition()}
		if backwards {
			// A backwards read from a position returns what lies before it.
			ro.Before = p
			if p.IsStart() {
				return nil
			}
		} else if p.Commit > 0 {
			// A forwards read from a position includes the event there;
			// the SQLite log numbers events 1, 2, 3 in both parts.
			ro.After = events.Position{Commit: p.Commit - 1, Prepare: p.Commit - 1}
		}
	case *api.ReadReq_Options_AllOptions_End:
		if !backwards {
			return nil
		}
	}
	evs, err := s.store.ReadAll(ctx, ro)
	if err != nil {
		return storeError(ctx, "Read", "$all", err)
	}
	for _, e := range evs {
		if err := rs.Send(recorded(e)); err != nil {
			return err
		}
	}
	return nil
}

// readMeta serves "$$name", whose last event holds the stream's $tb.
func (s *Server) readMeta(stream string, rs api.Streams_ReadServer) error {
	s.mu.RLock()
	st := s.meta[stream]
	var e events.Event
	if st != nil {
		e = events.Event{
			ID: uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "%s/%d", stream, st.metaRev)), Stream: "$$" + stream,
			Type: "$metadata", Revision: st.metaRev, Data: fmt.Appendf(nil, `{"$tb":%d}`, st.tb),
		}
	}
	s.mu.RUnlock()
	if st == nil {
		return rs.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte("$$" + stream)},
		}}})
	}
	r := recorded(e)
	r.GetEvent().Event.CustomMetadata = nil
	return rs.Send(r)
}

type matcher func(stream, typ string) bool

func filterOf(o *api.ReadReq_Options) (matcher, int, error) {
	f := o.GetFilter()
	if f == nil {
		return nil, 0, nil
	}
	var expr *api.ReadReq_Options_FilterOptions_Expression
	byStream := false
	if e := f.GetStreamIdentifier(); e != nil {
		expr, byStream = e, true
	} else {
		expr = f.GetEventType()
	}
	var re *regexp.Regexp
	if expr.GetRegex() != "" {
		var err error
		if re, err = regexp.Compile(expr.GetRegex()); err != nil {
			return nil, 0, status.Errorf(codes.InvalidArgument, "filter regex: %v", err)
		}
	}
	prefixes := expr.GetPrefix()
	m := func(stream, typ string) bool {
		s := typ
		if byStream {
			s = stream
		}
		if re != nil {
			return re.MatchString(s)
		}
		for _, p := range prefixes {
			if strings.HasPrefix(s, p) {
				return true
			}
		}
		return false
	}
	// The server checkpoints after scanning window × multiplier events.
	window := 32
	if f.GetMax() > 0 {
		window = int(f.GetMax())
	}
	mult := max(int(f.GetCheckpointIntervalMultiplier()), 1)
	return m, window * mult, nil
}

func (s *Server) subscribe(ctx context.Context, o *api.ReadReq_Options, rs api.Streams_ReadServer) error {
	s.subscriptions.Add(1)
	match, interval, err := filterOf(o)
	if err != nil {
		return err
	}
	var after events.Position
	switch v := o.GetAll().GetAllOption().(type) {
	case *api.ReadReq_Options_AllOptions_Position:
		// A subscription starts after the position it is given.
		after = events.Position{Commit: v.Position.GetCommitPosition(), Prepare: v.Position.GetPreparePosition()}
	case *api.ReadReq_Options_AllOptions_End:
		if after, err = s.store.Head(ctx); err != nil {
			return storeError(ctx, "Read", "$all", err)
		}
	}
	if err := rs.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{
		SubscriptionId: uuid.NewString(),
	}}}); err != nil {
		return err
	}
	scanned := 0
	for m, err := range s.store.Subscribe(ctx, events.SubscribeOptions{After: after}) {
		if err != nil {
			if ctx.Err() != nil {
				return status.FromContextError(ctx.Err()).Err()
			}
			return storeError(ctx, "Read", "$all", err)
		}
		switch m.Kind {
		case events.KindCaughtUp:
			if err := rs.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		case events.KindEvent:
			e := m.Event
			if match == nil || match(e.Stream, e.Type) {
				if err := rs.Send(recorded(e)); err != nil {
					return err
				}
			}
			if scanned++; match != nil && scanned >= interval {
				scanned = 0
				if err := rs.Send(&api.ReadResp{Content: &api.ReadResp_Checkpoint_{Checkpoint: &api.ReadResp_Checkpoint{
					CommitPosition: e.Position.Commit, PreparePosition: e.Position.Prepare,
				}}}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Subscriptions counts the subscriptions opened, to see resubscriptions.
func (s *Server) Subscriptions() int64 { return s.subscriptions.Load() }

// Store is the SQLite store the stand-in serves, for writing behind the
// client's back (as another client of a real server would).
func (s *Server) Store() *sqlitestore.Store { return s.store }
