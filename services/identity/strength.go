package identity

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// Passwords are measured with zxcvbn, which estimates how many guesses an
// attacker who knows the usual tricks (common passwords, words and names,
// keyboard walks, repeats, dates, l33t) would need, and refused below
// minPasswordScore.
//
// 3 means at least 10^8 guesses. Online, the brakes on failed log-ins let
// a guesser a handful of tries per hour per address; offline, with a copy
// of the log, each guess costs an argon2id hash (about 0.1 s of a core),
// so 10^8 guesses cost over a hundred core-days per account. Score 4
// (10^10) would refuse a good share of the memorable passphrases people
// actually choose, such as three uncommon words, for little gain against
// either attack; 2 (10^6) would fall to an offline guesser in a day.
const minPasswordScore = 3

// maxStrengthRunes is how much of a password zxcvbn is given. Its
// matching grows faster than the square of the length (a 256-character
// password takes about 0.1–0.3 s, 64 characters a few milliseconds; see
// BenchmarkPasswordStrength), and a password whose first 64 characters are
// hard to guess is hard to guess.
const maxStrengthRunes = 64

// The messages of the strength rules, one per reason, so the pages can
// say each in the visitor's language (see ruleKeys).
const (
	weakPersonalMessage = "must not contain your email address or your name"
	weakCommonMessage   = "is one of the passwords people use most, which are tried first"
	weakPatternMessage  = "is a pattern that is guessed early: repeated characters, a sequence, keys next to each other or a date"
	weakMessage         = "is too easy to guess: add another word or two that are not about you and not a common phrase"
)

// passwordUserInputs are the words zxcvbn is told the person is known
// by: the address whole and its local part, the display name, their
// pieces and the pieces run together, with the site's own name; anyone who knows the person tries
// them first. Pieces of one letter are left out (they would only make
// every password look a little weaker), and so are two-letter Latin ones
// ("li"), while a two-character Chinese name is a whole name.
func passwordUserInputs(email, displayName string) []string {
	inputs := []string{"yunqi", "云栖"}
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		n := utf8.RuneCountInString(s)
		if n >= 3 || n == 2 && strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			if !slices.Contains(inputs, s) {
				inputs = append(inputs, s)
			}
		}
	}
	email = strings.TrimSpace(email)
	add(email)
	local, _, _ := strings.Cut(email, "@")
	add(local)
	add(displayName)
	// "li.hua" is also typed "lihua", "Ada Lovelace" "adalovelace".
	for _, s := range []string{local, displayName} {
		pieces := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
		add(strings.Join(pieces, ""))
		for _, piece := range pieces {
			add(piece)
		}
	}
	return inputs
}

// weakPassword returns the message saying why password is too easy to
// guess, or "" when it is strong enough.
//
// A password that contains the person's address or name must be strong
// without it: zxcvbn alone prices "adalovelace1815" for Ada Lovelace at
// a few guesses per piece and lets it pass, though it is the first thing
// someone who knows her would try.
func weakPassword(password, email, displayName string) string {
	if utf8.RuneCountInString(password) > maxStrengthRunes {
		password = string([]rune(password)[:maxStrengthRunes])
	}
	inputs := passwordUserInputs(email, displayName)
	res := zxcvbn.PasswordStrength(password, inputs)
	if res.Score >= minPasswordScore {
		if rest, cut := withoutInputs(password, inputs); cut {
			if zxcvbn.PasswordStrength(rest, nil).Score < minPasswordScore {
				return weakPersonalMessage
			}
		}
		return ""
	}
	pattern, common := false, false
	for _, m := range res.Sequence {
		switch {
		case m.Pattern == "dictionary" && m.DictionaryName == "user_inputs":
			return weakPersonalMessage
		case m.Pattern == "dictionary" && m.DictionaryName == "passwords":
			common = true
		case m.Pattern == "repeat", m.Pattern == "sequence", m.Pattern == "spatial", m.Pattern == "date", m.Pattern == "regex":
			pattern = true
		}
	}
	switch {
	case common && len(res.Sequence) == 1:
		return weakCommonMessage
	case pattern:
		return weakPatternMessage
	}
	return weakMessage
}

// withoutInputs removes every input from password, ignoring case, the
// longest first; cut reports whether there was any.
func withoutInputs(password string, inputs []string) (rest string, cut bool) {
	byLength := slices.Clone(inputs)
	slices.SortFunc(byLength, func(a, b string) int { return len(b) - len(a) })
	rest = strings.ToLower(password)
	for _, in := range byLength {
		if strings.Contains(rest, in) {
			rest, cut = strings.ReplaceAll(rest, in, " "), true
		}
	}
	return rest, cut
}
