package conference

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// Tickets are JWTs signed with a key of the conference's own, so a gate can
// verify them offline from the published public key, and losing or
// rotating the ticket key never touches log-in tokens (nor the reverse).
const (
	ticketKeyDir  = "conference"
	ticketKeyFile = "ticket-key.pem"
	ticketType    = "ticket+jwt"
	ticketIssuer  = "yunqi-conference"
)

type ticketKey struct {
	kid     string
	private ed25519.PrivateKey
	public  ed25519.PublicKey
}

// ticketParserOptions: a parser is made per verification because it is
// judged at a given moment, the scan's, not at the server's now.
var ticketParserOptions = []jwt.ParserOption{jwt.WithValidMethods([]string{auth.Algorithm}), jwt.WithIssuer(ticketIssuer),
	jwt.WithExpirationRequired(), jwt.WithLeeway(time.Minute)}

// ticketClaims: sub is the registration, edition and member say whose.
type ticketClaims struct {
	jwt.RegisteredClaims
	Edition string `json:"edition"`
	Member  string `json:"member"`
}

func openTicketKey(dataDir string) (*ticketKey, error) {
	dir := filepath.Join(dataDir, ticketKeyDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ticket key: %w", err)
	}
	path := filepath.Join(dir, ticketKeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		data, err = writeTicketKey(dir, path)
	}
	if err != nil {
		return nil, fmt.Errorf("ticket key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("ticket key %s: not PEM", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ticket key %s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("ticket key %s: not an Ed25519 key", path)
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &ticketKey{kid: auth.Thumbprint(pub), private: priv, public: pub}, nil
}

// writeTicketKey writes a new key atomically; of two processes starting at
// once, the rename of the second replaces the first's file before either
// signed anything only if both read none, so the loser re-reads the winner.
func writeTicketKey(dir, path string) ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	tmp, err := os.CreateTemp(dir, ".ticket-*.tmp")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	tmp.Close()
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	return os.ReadFile(path) // the winner's key when another process got there first
}

// sign issues the ticket of a registration, valid until expires.
func (k *ticketKey) sign(edition, regID, member string, now, expires time.Time) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, ticketClaims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: ticketIssuer, Subject: regID,
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(expires)},
		Edition: edition, Member: member,
	})
	t.Header["kid"], t.Header["typ"] = k.kid, ticketType
	return t.SignedString(k.private)
}

// Ticket verification outcomes the edge reports field by field.
var (
	ErrTicketExpired = errors.New("ticket expired")
	ErrTicketInvalid = errors.New("ticket not valid")
)

func (k *ticketKey) verify(raw string, now time.Time) (ticketClaims, error) {
	var c ticketClaims
	parser := jwt.NewParser(append(slices.Clip(ticketParserOptions), jwt.WithTimeFunc(func() time.Time { return now }))...)
	_, err := parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != ticketType {
			return nil, ErrTicketInvalid
		}
		return k.public, nil
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return c, ErrTicketExpired
	case err != nil || c.Subject == "" || c.Edition == "":
		return c, ErrTicketInvalid
	}
	return c, nil
}

// ticketExpiry: a ticket is good until the day after the edition ends, or
// a year from now for an edition without dates.
func ticketExpiry(ed *Edition, now time.Time) time.Time {
	end := ed.EndsOn
	if end == "" {
		end = ed.StartsOn
	}
	if d, err := time.Parse(time.DateOnly, end); err == nil {
		return d.Add(48 * time.Hour)
	}
	return now.Add(365 * 24 * time.Hour)
}
