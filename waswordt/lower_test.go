package waswordt

import (
	"strings"
	"testing"
)

func TestAppendLower(t *testing.T) {
	for _, s := range []string{"", "abc", "Jan de VRIES", "ÉLOÏSE", "Özil-Berg", "1234 AB", "ß", "İstanbul"} {
		if got := string(appendLower([]byte("x"), s)); got != "x"+strings.ToLower(s) {
			t.Errorf("%q: %q, want %q", s, got, "x"+strings.ToLower(s))
		}
	}
}
