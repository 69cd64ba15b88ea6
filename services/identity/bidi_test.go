package identity

import "testing"

func TestCleanTextRefusesDirectionOverrides(t *testing.T) {
	for _, s := range []string{"Ada\u202Enimda", "\u202Aembedded", "x\u2066isolate\u2069", "\u2067y"} {
		if _, ok := cleanText(s, false); ok {
			t.Errorf("%q accepted", s)
		}
	}
	for _, s := range []string{"杜勇", "Ada Lovelace", "\u200Fשלום", "عربي\u061C"} {
		if _, ok := cleanText(s, false); !ok {
			t.Errorf("%q refused", s)
		}
	}
}
