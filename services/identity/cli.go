package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// GrantRole gives the account with this email a role (`yunqi users grant`).
// It only appends to the event log, which several processes may share, so
// it works while the server runs. The grant takes effect at the user's next
// token refresh (within the access token lifetime). actor says who granted
// it, for staff audits only: the user's timeline shows the grant, never the
// granter. It reports whether anything changed (granting a held role
// writes nothing).
func GrantRole(ctx context.Context, store events.Store, claims ClaimKey, email, role, actor string) (bool, error) {
	return changeRole(ctx, store, claims, email, role, actor, User.grantRole)
}

// RevokeRole takes a role away (`yunqi users revoke`), like GrantRole. The
// member role cannot be revoked.
func RevokeRole(ctx context.Context, store events.Store, claims ClaimKey, email, role, actor string) (bool, error) {
	return changeRole(ctx, store, claims, email, role, actor, User.revokeRole)
}

func changeRole(ctx context.Context, store events.Store, claims ClaimKey, email, role, actor string, decide func(User, string) ([]any, error)) (bool, error) {
	if actor == "" {
		actor = events.ActorSystem
	}
	if err := checkGrantable(role); err != nil {
		return false, err
	}
	for range maxAttempts {
		u, rev, err := findUserByEmail(ctx, store, claims, email)
		if err != nil {
			return false, err
		}
		evs, err := decide(u, role)
		if err != nil || len(evs) == 0 {
			return false, err
		}
		_, err = appendPayloads(ctx, store, events.UserStream(u.ID), rev, u.ID, writeInfo{actor: actor}, time.Now(), evs...)
		if isConflict(err) {
			continue
		}
		return err == nil, err
	}
	return false, fmt.Errorf("change role: still contended after %d attempts", maxAttempts)
}
