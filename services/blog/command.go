package blog

import (
	"context"
	"strings"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// command is who asks for a change and how to recognise a retry of it.
type command struct {
	who       auth.Principal
	requestID string
	// key is the client's Idempotency-Key (empty: none): the events'
	// ids derive from it, so a retried request writes nothing twice.
	key string
}

// visible is a payload with the visibility class it is written with.
type visible struct {
	payload any
	vis     events.Visibility
}

func public(p any) visible      { return visible{p, events.Public} }
func writersOnly(p any) visible { return visible{p, events.Owner} }

// write appends the events of one decision at the version it was decided
// against.
func (s *Service) write(ctx context.Context, stream string, version events.ExpectedRevision, c command, evs ...visible) error {
	if len(evs) == 0 {
		return nil
	}
	actor := c.who.UserID
	if actor == "" {
		actor = events.ActorSystem
	}
	at := s.cfg.Clock().UTC()
	proposed := make([]events.Proposed, len(evs))
	for i, v := range evs {
		ev, err := events.Types.New(v.payload, events.Metadata{
			Actor: actor, RequestID: c.requestID, OccurredAt: at, Visibility: v.vis,
		})
		if err != nil {
			return err
		}
		if c.key != "" {
			ev.ID = events.IDFromKey(strings.Join([]string{"blog", actor, stream, c.key}, "\x00"), i)
		}
		proposed[i] = ev
	}
	_, err := s.store.Append(ctx, stream, version, proposed...)
	return err
}
