package console

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"aether/internal/admin"
)

// TestSessionCookie checks the signed session: accepted by any console
// with the same admin token, refused once expired, tampered with, signed
// under another token or logged out.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	token := strings.Repeat("t", 40)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	newConsole := func(tok string) *Console {
		c := New(Config{Admin: admin.Config{Token: tok}, SessionTTL: time.Hour})
		c.now = func() time.Time { return now }
		return c
	}
	c := newConsole(token)
	w := httptest.NewRecorder()
	c.newSession(w, httptest.NewRequest("POST", "/console/login", nil))
	ck := w.Result().Cookies()[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.MaxAge != 3600 {
		t.Errorf("cookie flags: %+v", ck)
	}
	with := func(v string) *http.Request {
		r := httptest.NewRequest("GET", "/console/", nil)
		r.AddCookie(&http.Cookie{Name: cookieName, Value: v})
		return r
	}
	tests := []struct {
		name  string
		c     *Console
		value string
		at    time.Time
		ok    bool
	}{
		{"valid", c, ck.Value, now, true},
		{"another replica with the same token", newConsole(token), ck.Value, now, true},
		{"expired", c, ck.Value, now.Add(time.Hour), false},
		{"another token", newConsole(strings.Repeat("u", 40)), ck.Value, now, false},
		{"tampered", c, flip(ck.Value, 5), now, false},
		{"tampered nonce", c, flip(ck.Value, 20), now, false},
		{"no signature", c, strings.Split(ck.Value, ".")[0], now, false},
		{"garbage", c, "%%%", now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			tt.c.now = func() time.Time { return at }
			if _, ok := tt.c.session(with(tt.value)); ok != tt.ok {
				t.Errorf("accepted %v, want %v", ok, tt.ok)
			}
		})
	}
	c.now = func() time.Time { return now }
	s, _ := c.session(with(ck.Value))
	c.revoke(s)
	if _, ok := c.session(with(ck.Value)); ok {
		t.Error("a logged-out session is accepted")
	}
	if c.csrf(s) == newConsole(token).csrf(session{nonce: []byte("other-nonce-0000")}) {
		t.Error("two sessions share a CSRF token")
	}
	w = httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/console/login", nil)
	r.TLS = &tls.ConnectionState{}
	c.newSession(w, r)
	if !w.Result().Cookies()[0].Secure {
		t.Error("the cookie is not Secure over TLS")
	}
}

// flip changes one base64 character of v.
func flip(v string, i int) string {
	b := []byte(v)
	if b[i] == 'B' {
		b[i] = 'C'
	} else {
		b[i] = 'B'
	}
	return string(b)
}
