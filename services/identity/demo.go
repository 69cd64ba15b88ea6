package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// DemoAccount is a staff account the demo opens, so that a newcomer can
// try the organiser, reviewer, judge and gate journeys from the browser.
type DemoAccount struct {
	Email, Name, Password string
	Roles                 []string
}

// SeedDemoAccounts opens the accounts as sign-up and `yunqi users grant`
// would: the address claimed, the account registered with an argon2id
// hash of its password, each role granted, all by the system actor.
func SeedDemoAccounts(ctx context.Context, store events.Store, claims ClaimKey, accounts []DemoAccount) error {
	h, err := newHasher(DefaultArgon2)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, a := range accounts {
		in, err := signUpInput{Email: a.Email, Password: a.Password, DisplayName: a.Name}.validate()
		if err != nil {
			return fmt.Errorf("demo account %s: %w", a.Email, err)
		}
		hash := claims.hash(normalizeEmail(in.Email))
		userID := DemoAccountID(in.Email)
		wi := writeInfo{actor: events.ActorSystem}
		passwordHash, err := h.hash(ctx, in.Password)
		if err != nil {
			return err
		}
		u, err := User{}.register(userID, in.Email, passwordHash, in.DisplayName, in.Lang)
		if err != nil {
			return err
		}
		for _, role := range a.Roles {
			u = append(u, events.RoleGranted{UserID: userID, Role: role})
		}
		if _, err := appendPayloads(ctx, store, events.EmailClaimStream(hash), events.NoStream, userID, wi, now, events.EmailClaimed{UserID: userID}); err != nil {
			return fmt.Errorf("demo account %s: %w", a.Email, err)
		}
		if _, err := appendPayloads(ctx, store, events.UserStream(userID), events.NoStream, userID, wi, now, u...); err != nil {
			return fmt.Errorf("demo account %s: %w", a.Email, err)
		}
	}
	return nil
}

// DemoAccountID is the id a demo account of this address gets: derived
// from the address, so seeding twice writes nothing twice and other
// services' demo data can name the account before it exists.
func DemoAccountID(email string) string {
	// The demo's addresses are made up, so an id derived from the plain
	// hash links no real person to anything.
	return events.IDFromKey("identity-demo\x00"+LegacyClaimHash(email), 0).String()
}
