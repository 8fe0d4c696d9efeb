package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
)

// Session timeouts.
const (
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 12 * time.Hour
	cookieName      = "__Host-cmr"
)

// session is a signed-in person as a request sees it: the user is loaded
// afresh from the directory at every request, so a disabled account or a
// changed role takes effect at once.
type session struct {
	User     cmr.User
	CSRF     string
	Created  time.Time
	LastSeen time.Time
}

// SessionStore keeps sessions; gormdb.Store is the one `cmr dev` and
// `cmr serve` use, so that sessions survive a restart and are shared by
// several servers. Only the hash of a session ID reaches it.
type SessionStore interface {
	SaveSession(ctx context.Context, ws gormdb.WebSession) error
	Session(ctx context.Context, idHash string) (gormdb.WebSession, error)
	TouchSession(ctx context.Context, idHash string, t time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
	PurgeSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error)
}

// userLookup finds a signed-in session's user; disabled users are not found.
type userLookup interface {
	User(ctx context.Context, id string) (cmr.User, error)
}

// sessions applies the timeouts over a SessionStore.
type sessions struct {
	store SessionStore
	users userLookup
	now   func() time.Time

	mu        sync.Mutex
	lastPurge time.Time
}

// touchEvery is how stale a session's last-seen time may get before it is
// written again: the idle timeout is kept to the minute without a write
// per request.
const touchEvery = time.Minute

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSessionID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// start makes a new session for u (a fresh ID at every sign-in).
func (s *sessions) start(ctx context.Context, u cmr.User) (string, error) {
	id := randomToken()
	t := s.now()
	ws := gormdb.WebSession{IDHash: hashSessionID(id), UserID: u.ID, CSRF: randomToken(), CreatedAt: t, LastSeenAt: t}
	if err := s.store.SaveSession(ctx, ws); err != nil {
		return "", fmt.Errorf("start session: %w", err)
	}
	s.purge(ctx, t)
	return id, nil
}

// get returns a live session and marks it seen; expired ones are removed.
// A store that cannot answer is an error, not a sign-out: the person gets
// "try again" rather than the sign-in page.
func (s *sessions) get(ctx context.Context, id string) (*session, error) {
	if id == "" {
		return nil, nil
	}
	hash := hashSessionID(id)
	ws, err := s.store.Session(ctx, hash)
	if errors.Is(err, cmr.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t := s.now()
	if t.Sub(ws.LastSeenAt) > IdleTimeout || t.Sub(ws.CreatedAt) > AbsoluteTimeout {
		_ = s.store.DeleteSession(ctx, hash)
		return nil, nil
	}
	u, err := s.users.User(ctx, ws.UserID)
	if errors.Is(err, cmr.ErrNotFound) {
		_ = s.store.DeleteSession(ctx, hash)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if t.Sub(ws.LastSeenAt) >= touchEvery {
		if err := s.store.TouchSession(ctx, hash, t); err != nil {
			return nil, err
		}
		ws.LastSeenAt = t
	}
	return &session{User: u, CSRF: ws.CSRF, Created: ws.CreatedAt, LastSeen: ws.LastSeenAt}, nil
}

func (s *sessions) end(ctx context.Context, id string) error {
	return s.store.DeleteSession(ctx, hashSessionID(id))
}

// purge removes expired sessions now and then (at most hourly, at a
// sign-in), so that the table does not keep what no one can use.
func (s *sessions) purge(ctx context.Context, t time.Time) {
	s.mu.Lock()
	due := t.Sub(s.lastPurge) > time.Hour
	if due {
		s.lastPurge = t
	}
	s.mu.Unlock()
	if due {
		_, _ = s.store.PurgeSessions(ctx, t.Add(-IdleTimeout), t.Add(-AbsoluteTimeout))
	}
}

// memorySessions is a SessionStore in memory, for pages served without a
// database (tests with fakes).
type memorySessions struct {
	mu sync.Mutex
	m  map[string]gormdb.WebSession
}

func newMemorySessions() *memorySessions {
	return &memorySessions{m: map[string]gormdb.WebSession{}}
}

func (m *memorySessions) SaveSession(_ context.Context, ws gormdb.WebSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[ws.IDHash] = ws
	return nil
}

func (m *memorySessions) Session(_ context.Context, idHash string) (gormdb.WebSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ws, ok := m.m[idHash]
	if !ok {
		return gormdb.WebSession{}, cmr.ErrNotFound
	}
	return ws, nil
}

func (m *memorySessions) TouchSession(_ context.Context, idHash string, t time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ws, ok := m.m[idHash]; ok {
		ws.LastSeenAt = t
		m.m[idHash] = ws
	}
	return nil
}

func (m *memorySessions) DeleteSession(_ context.Context, idHash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, idHash)
	return nil
}

func (m *memorySessions) PurgeSessions(_ context.Context, idleBefore, createdBefore time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, ws := range m.m {
		if ws.LastSeenAt.Before(idleBefore) || ws.CreatedAt.Before(createdBefore) {
			delete(m.m, k)
			n++
		}
	}
	return n, nil
}

func sessionCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: maxAge}
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
