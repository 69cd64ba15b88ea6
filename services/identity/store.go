package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/yunqi-town/yunqi/events"
)

// visibility classifies each identity event for timelines and pages.
// Bookkeeping (claims, token rotations and revocations) is system; what happened to the
// account is the owner's. Nothing here is public: public views are built
// from the published profile fields, never from the events as such.
func visibility(payload any) events.Visibility {
	switch payload.(type) {
	case events.EmailClaimed, events.SessionRefreshed, events.AccessTokenRevoked:
		return events.System
	default:
		return events.Owner
	}
}

// writeInfo is what every appended event records about its cause.
type writeInfo struct {
	actor     string // user id, or a staff or system actor
	requestID string
	// idKey makes the event ids deterministic (Idempotency-Key), so a
	// retried command writes nothing twice.
	idKey string
}

// appendPayloads appends events about subject (the user whose data they
// carry) to stream, if it is in the expected state.
func appendPayloads(ctx context.Context, store events.Store, stream string, expected events.ExpectedRevision,
	subject string, wi writeInfo, now time.Time, payloads ...any) (events.AppendResult, error) {
	proposed := make([]events.Proposed, len(payloads))
	for i, p := range payloads {
		meta := events.Metadata{
			Actor:         wi.actor,
			CorrelationID: wi.requestID,
			RequestID:     wi.requestID,
			OccurredAt:    now.UTC(),
			Visibility:    visibility(p),
			Subject:       subject,
		}
		ev, err := events.Types.New(p, meta)
		if err != nil {
			return events.AppendResult{}, err
		}
		if wi.idKey != "" {
			ev.ID = events.IDFromKey(wi.idKey, i)
		}
		proposed[i] = ev
	}
	res, err := store.Append(ctx, stream, expected, proposed...)
	if err != nil {
		return res, fmt.Errorf("append to %s: %w", stream, err)
	}
	return res, nil
}

// recorded is one event of a stream with its decoded payload.
type recorded struct {
	events.Event
	payload any
}

// readStream reads a whole stream and decodes it. A stream that does not
// exist reads as no events at revision "no stream". Events of types this
// binary does not know (a newer one wrote them) are skipped, as the
// aggregates would skip them anyway.
func readStream(ctx context.Context, store events.Store, stream string) ([]recorded, events.ExpectedRevision, error) {
	evs, err := store.ReadStream(ctx, stream, events.ReadOptions{})
	if errors.Is(err, events.ErrStreamNotFound) || err == nil && len(evs) == 0 {
		return nil, events.NoStream, nil
	}
	if err != nil {
		return nil, events.NoStream, fmt.Errorf("read %s: %w", stream, err)
	}
	out := make([]recorded, 0, len(evs))
	for _, e := range evs {
		p, err := events.Types.Decode(e)
		if errors.Is(err, events.ErrUnknownType) {
			continue
		}
		if err != nil {
			return nil, events.NoStream, err
		}
		out = append(out, recorded{Event: e, payload: p})
	}
	return out, events.Exact(evs[len(evs)-1].Revision), nil
}

func payloads(rs []recorded) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = r.payload
	}
	return out
}

// loadUser rebuilds a user; ErrUserNotFound when the stream has no
// registration.
func loadUser(ctx context.Context, store events.Store, id string) (User, events.ExpectedRevision, error) {
	if _, err := uuid.Parse(id); err != nil {
		return User{}, events.NoStream, ErrUserNotFound
	}
	rs, rev, err := readStream(ctx, store, events.UserStream(id))
	if err != nil {
		return User{}, rev, err
	}
	u := replayRecorded(rs)
	if !u.Registered || u.Erased {
		return u, rev, ErrUserNotFound
	}
	return u, rev, nil
}

// emailHash names an address's claim stream. It keeps addresses out of
// stream names, logs and the search index; it is not a secret against
// someone who already has the address and guesses, which is why the claim
// stream carries Metadata.Subject: erasing a person can find and tombstone it.

// emailClaim is the current owner of an address.
type emailClaim struct {
	userID   string
	revision events.ExpectedRevision
	recorded time.Time
}

// lookupClaim reads the claim stream of a hashed address; userID is empty
// when nobody has claimed it.
func lookupClaim(ctx context.Context, store events.Store, hash string) (emailClaim, error) {
	rs, rev, err := readStream(ctx, store, events.EmailClaimStream(hash))
	if err != nil {
		return emailClaim{}, err
	}
	c := emailClaim{revision: rev}
	for _, r := range rs {
		if e, ok := r.payload.(events.EmailClaimed); ok {
			c.userID, c.recorded = e.UserID, r.Recorded
		}
	}
	return c, nil
}

// findUserByEmail loads the user owning an address; ErrUserNotFound when
// nobody does. A claim names its user until someone else claims the
// address, also after the user moved to another one, so the user's current
// address decides.
func findUserByEmail(ctx context.Context, store events.Store, claims ClaimKey, email string) (User, events.ExpectedRevision, error) {
	c, err := lookupClaim(ctx, store, claims.hash(normalizeEmail(email)))
	if err != nil {
		return User{}, events.NoStream, err
	}
	if c.userID == "" {
		return User{}, events.NoStream, ErrUserNotFound
	}
	u, rev, err := loadUser(ctx, store, c.userID)
	if err == nil && !sameAddress(u.Email, email) {
		return User{}, events.NoStream, ErrUserNotFound
	}
	return u, rev, err
}

// isConflict reports an optimistic concurrency failure.
func isConflict(err error) bool {
	var wrong *events.WrongExpectedRevisionError
	return errors.As(err, &wrong)
}

// maxAttempts bounds the load-decide-append loop under contention.
const maxAttempts = 5
