package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/cmr-idp/cmr"
)

// Session timeouts.
const (
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 12 * time.Hour
	cookieName      = "__Host-cmr"
)

// session is a signed-in person, kept on the server; the browser holds
// only a random ID.
type session struct {
	User     cmr.User
	CSRF     string
	Created  time.Time
	LastSeen time.Time
}

// Sessions is the server-side session store. It lives in memory (one
// process); the sign-in issue moves it to the database.
type Sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	now func() time.Time
}

// NewSessions returns an empty store.
func NewSessions(now func() time.Time) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{m: map[string]*session{}, now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// start makes a new session for u (a fresh ID at every sign-in).
func (s *Sessions) start(u cmr.User) (string, *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := randomToken()
	t := s.now()
	ss := &session{User: u, CSRF: randomToken(), Created: t, LastSeen: t}
	s.m[id] = ss
	return id, ss
}

// get returns a live session and marks it seen; expired ones are removed.
func (s *Sessions) get(id string) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[id]
	if !ok {
		return nil, false
	}
	t := s.now()
	if t.Sub(ss.LastSeen) > IdleTimeout || t.Sub(ss.Created) > AbsoluteTimeout {
		delete(s.m, id)
		return nil, false
	}
	ss.LastSeen = t
	return ss, true
}

func (s *Sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

func sessionCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: maxAge}
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
