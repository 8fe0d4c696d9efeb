package gormdb

import (
	"context"
	"time"
)

// WebSession is a signed-in person of the web pages as stored: the hash of
// the browser's session ID, never the ID itself.
type WebSession struct {
	IDHash     string `gorm:"primaryKey"`
	UserID     string
	CSRF       string `gorm:"column:csrf"`
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// TableName maps WebSession to its table.
func (WebSession) TableName() string { return "web_sessions" }

// SaveSession stores a new session.
func (s *Store) SaveSession(ctx context.Context, ws WebSession) error {
	ws.CreatedAt, ws.LastSeenAt = ws.CreatedAt.UTC(), ws.LastSeenAt.UTC()
	return wrap("save session", s.db.WithContext(ctx).Create(&ws).Error)
}

// Session returns the session stored under idHash, or cmr.ErrNotFound.
func (s *Store) Session(ctx context.Context, idHash string) (WebSession, error) {
	var ws WebSession
	if err := s.db.WithContext(ctx).Where("id_hash = ?", idHash).Take(&ws).Error; err != nil {
		return WebSession{}, wrap("session", err)
	}
	return ws, nil
}

// TouchSession records that the session was used at t.
func (s *Store) TouchSession(ctx context.Context, idHash string, t time.Time) error {
	return wrap("touch session", s.db.WithContext(ctx).Model(&WebSession{}).Where("id_hash = ?", idHash).Update("last_seen_at", t.UTC()).Error)
}

// DeleteSession ends one session.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	return wrap("delete session", s.db.WithContext(ctx).Where("id_hash = ?", idHash).Delete(&WebSession{}).Error)
}

// DeleteUserSessions ends every session of a user at once: for a person
// who leaves, or whose account is disabled.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	return wrap("delete sessions", s.db.WithContext(ctx).Where("user_id = ?", userID).Delete(&WebSession{}).Error)
}

// PurgeSessions deletes the sessions idle since before idleBefore or
// created before createdBefore, and says how many there were.
func (s *Store) PurgeSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("last_seen_at < ? OR created_at < ?", idleBefore.UTC(), createdBefore.UTC()).Delete(&WebSession{})
	return res.RowsAffected, wrap("purge sessions", res.Error)
}
