package gormdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/cmr-idp/cmr"
)

type organisationRow struct {
	ID        string
	Name      string
	Role      string
	BRIN      *string `gorm:"column:brin"`
	Sector    *string
	CreatedAt time.Time
}

func (organisationRow) TableName() string { return "organisations" }

type userRow struct {
	ID             string
	OrganisationID string
	Email          string
	Name           string
	Disabled       bool
	CreatedAt      time.Time
}

func (userRow) TableName() string { return "users" }

type tokenRow struct {
	ID         string
	UserID     string
	Label      string
	TokenHash  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

func (tokenRow) TableName() string { return "api_tokens" }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// UpsertOrganisation creates or updates an organisation.
func (s *Store) UpsertOrganisation(ctx context.Context, o cmr.Organisation) error {
	if !o.Role.Valid() {
		return cmr.FieldErrorf("role", "must be school, distributor, publisher or kennisnet, got %q", o.Role).
			NL("moet school, distributor, publisher of kennisnet zijn, niet %q", o.Role)
	}
	row := organisationRow{ID: o.ID, Name: o.Name, Role: string(o.Role), BRIN: optional(o.BRIN), Sector: optional(string(o.Sector)), CreatedAt: now()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoUpdates: clause.AssignmentColumns([]string{"name", "role", "brin", "sector"})}).Create(&row).Error
	return wrap("save organisation", err)
}

// organisations is rows as the domain has them.
func organisations(rows []organisationRow) []cmr.Organisation {
	out := make([]cmr.Organisation, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out
}

func (r organisationRow) domain() cmr.Organisation {
	return cmr.Organisation{ID: r.ID, Name: r.Name, Role: cmr.Role(r.Role), BRIN: deref(r.BRIN), Sector: cmr.Sector(deref(r.Sector))}
}

// Organisation returns the organisation with id.
func (s *Store) Organisation(ctx context.Context, id string) (cmr.Organisation, error) {
	var row organisationRow
	if err := s.reads(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return cmr.Organisation{}, wrap("organisation", err)
	}
	return row.domain(), nil
}

// School finds a school by its organisation ID or its BRIN, in any case,
// as a distributor names it when opening a case: cmr.ErrNotFound when
// none matches; of several matches (one school's ID another's BRIN) the
// lowest ID, as a search of every school in ID order found it. By index
// either way (migration 00013): the directory holds every school.
func (s *Store) School(ctx context.Context, key string) (cmr.Organisation, error) {
	var rows []organisationRow
	// No ORDER BY ... LIMIT: it could lead PostgreSQL's planner to walk
	// the primary key for a key that matches nothing.
	if err := s.reads(ctx).Where("role = ? AND (id = ? OR upper(brin) = upper(?))", string(cmr.RoleSchool), key, key).Find(&rows).Error; err != nil {
		return cmr.Organisation{}, wrap("school", err)
	}
	if len(rows) == 0 {
		return cmr.Organisation{}, cmr.ErrNotFound
	}
	first := slices.MinFunc(rows, func(a, b organisationRow) int { return strings.Compare(a.ID, b.ID) })
	return first.domain(), nil
}

// MaxSchoolQuery bounds what a search of the schools looks for, in bytes:
// longer than any school's name. The API refuses a longer one; the web's
// wizard cuts it short.
const MaxSchoolQuery = 200

// SearchSchools finds up to limit schools whose name contains query, or
// whose ID is query or whose BRIN is query in any case, ordered by name:
// for a distributor picking the school of a new case from a directory of
// thousands. Names match without regard to case in ASCII letters only
// (SQLite's LOWER): "Ö" finds "Ö", not "ö".
func (s *Store) SearchSchools(ctx context.Context, query string, limit int) ([]cmr.Organisation, error) {
	query = strings.TrimSpace(query)
	if query == "" || limit <= 0 {
		return nil, nil
	}
	like := "%" + likeEscaper.Replace(strings.ToLower(query)) + "%"
	var rows []organisationRow
	err := s.reads(ctx).Where(`role = ? AND (LOWER(name) LIKE ? ESCAPE '\' OR id = ? OR upper(brin) = upper(?))`, string(cmr.RoleSchool), like, query, query).
		Order("LOWER(name), id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, wrap("search schools", err)
	}
	return organisations(rows), nil
}

// MaxOrganisationPage bounds a page of the directory (OrganisationPage).
const MaxOrganisationPage = 1000

// OrganisationPage lists a page of the directory by ID, all organisations
// or those with one of roles, from the cursor after (the next of the page
// before; empty for the first). next is the cursor of the following page,
// empty after the last. Keyset paging by ID, through the primary key or,
// for a role, the index on role and ID (migration 00014): a late page
// costs what the first does, and the directory holds every school.
func (s *Store) OrganisationPage(ctx context.Context, roles []cmr.Role, after string, limit int) (orgs []cmr.Organisation, next string, err error) {
	if limit < 1 || limit > MaxOrganisationPage {
		limit = MaxOrganisationPage
	}
	q := s.reads(ctx).Order("id").Limit(limit + 1)
	if len(roles) > 0 {
		q = q.Where("role IN ?", roles)
	}
	if after != "" {
		key, id, err := decodeCursor(after)
		if err != nil || key != orgCursorKey {
			return nil, "", errBadCursor()
		}
		q = q.Where("id > ?", id)
	}
	var rows []organisationRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", wrap("organisations", err)
	}
	if len(rows) > limit {
		rows = rows[:limit]
		next = encodeCursor(orgCursorKey, rows[limit-1].ID)
	}
	return organisations(rows), next, nil
}

// orgCursorKey is the sort key of a directory cursor, which orders by ID
// alone: it tells the directory's cursors from the case list's.
const orgCursorKey = "org"

// OrganisationsByID returns the organisations with these IDs that exist,
// by ID: a report names the schools of its cases, not every school.
func (s *Store) OrganisationsByID(ctx context.Context, ids []string) (map[string]cmr.Organisation, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	out := make(map[string]cmr.Organisation, len(ids))
	// In batches: SQLite allows 32,766 parameters in a statement, and a
	// long IN list is no faster for either database.
	for batch := range slices.Chunk(ids, 500) {
		var rows []organisationRow
		if err := s.reads(ctx).Where("id IN ?", batch).Find(&rows).Error; err != nil {
			return nil, wrap("organisations by ID", err)
		}
		for _, r := range rows {
			out[r.ID] = r.domain()
		}
	}
	return out, nil
}

// Organisations lists organisations, all or those with one of roles.
func (s *Store) Organisations(ctx context.Context, roles ...cmr.Role) ([]cmr.Organisation, error) {
	q := s.db.WithContext(ctx).Order("id")
	if len(roles) > 0 {
		q = q.Where("role IN ?", roles)
	}
	var rows []organisationRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, wrap("organisations", err)
	}
	return organisations(rows), nil
}

// UpsertUser creates or updates a user (keyed on e-mail).
func (s *Store) UpsertUser(ctx context.Context, u cmr.User) (cmr.User, error) {
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	if existing, err := s.UserByEmail(ctx, u.Email); err == nil && existing.OrganisationID != u.OrganisationID {
		// Its tokens would act for the new organisation: refuse.
		return cmr.User{}, cmr.Errorf(cmr.KindConflict, "%s already belongs to organisation %s; a person moves by getting a new account", u.Email, existing.OrganisationID).
			NL("%s hoort al bij organisatie %s; wie van organisatie wisselt, krijgt een nieuw account", u.Email, existing.OrganisationID)
	}
	if u.ID == "" {
		u.ID = newID("u")
	}
	row := userRow{ID: u.ID, OrganisationID: u.OrganisationID, Email: u.Email, Name: u.Name, CreatedAt: now()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "email"}}, DoUpdates: clause.AssignmentColumns([]string{"organisation_id", "name"})}).Create(&row).Error
	if err != nil {
		return cmr.User{}, wrap("save user", err)
	}
	return s.UserByEmail(ctx, u.Email)
}

// userWithRole is a user joined with its organisation's role.
type userWithRole struct {
	ID             string
	OrganisationID string
	Email          string
	Name           string
	Role           string
	Admin          bool
}

func (r userWithRole) domain() cmr.User {
	return cmr.User{ID: r.ID, OrganisationID: r.OrganisationID, Email: r.Email, Name: r.Name, Role: cmr.Role(r.Role), Admin: r.Admin}
}

func (s *Store) users(ctx context.Context) *gorm.DB {
	return s.reads(ctx).Table("users").Select("users.id, users.organisation_id, users.email, users.name, users.admin, organisations.role").Joins("JOIN organisations ON organisations.id = users.organisation_id")
}

// UserByEmail finds a user by e-mail address.
func (s *Store) UserByEmail(ctx context.Context, email string) (cmr.User, error) {
	var row userWithRole
	if err := s.users(ctx).Where("users.email = ?", strings.ToLower(strings.TrimSpace(email))).Take(&row).Error; err != nil {
		return cmr.User{}, wrap("user", err)
	}
	return row.domain(), nil
}

// CreateToken makes a new API token for a user. The token is returned once;
// only its SHA-256 hash is stored.
func (s *Store) CreateToken(ctx context.Context, userID string) (string, error) {
	return s.CreateNamedToken(ctx, userID, "")
}

// CreateNamedToken makes a new API token for a user with a label saying
// what it is for (the system that uses it).
func (s *Store) CreateNamedToken(ctx context.Context, userID, label string) (string, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	token := "cmr_" + base64.RawURLEncoding.EncodeToString(secret)
	row := tokenRow{ID: newID("tok"), UserID: userID, Label: strings.TrimSpace(label), TokenHash: hashToken(token), CreatedAt: now()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return "", wrap("create token", err)
	}
	return token, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the user a valid, unrevoked token belongs to.
func (s *Store) Authenticate(ctx context.Context, token string) (cmr.User, error) {
	unauthorized := &cmr.Error{Kind: cmr.KindUnauthorized, Message: "the API token is unknown or revoked; create one with `cmr token create --user EMAIL`",
		MessageNL: "het API-token is onbekend of ingetrokken; maak een nieuw aan"}
	if !strings.HasPrefix(token, "cmr_") {
		return cmr.User{}, unauthorized
	}
	// The token and its user in one read: every API request starts here.
	var row struct {
		User       userWithRole `gorm:"embedded"`
		TokenID    string
		LastUsedAt *time.Time
	}
	err := s.users(ctx).
		Select("users.id, users.organisation_id, users.email, users.name, users.admin, organisations.role, api_tokens.id AS token_id, api_tokens.last_used_at").
		Joins("JOIN api_tokens ON api_tokens.user_id = users.id").
		Where("api_tokens.token_hash = ? AND api_tokens.revoked_at IS NULL AND users.disabled = ?", hashToken(token), false).
		Take(&row).Error
	if err != nil {
		if wrap("", err) == cmr.ErrNotFound {
			return cmr.User{}, unauthorized
		}
		return cmr.User{}, wrap("authenticate", err)
	}
	// Last use to the minute is enough, and saves a write per request.
	t := now()
	if row.LastUsedAt == nil || t.Sub(*row.LastUsedAt) > time.Minute {
		s.db.WithContext(ctx).Model(&tokenRow{}).Where("id = ?", row.TokenID).Update("last_used_at", t)
	}
	return row.User.domain(), nil
}

// RevokeTokens revokes every token of a user.
func (s *Store) RevokeTokens(ctx context.Context, userID string) error {
	return wrap("revoke tokens", s.db.WithContext(ctx).Model(&tokenRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", now()).Error)
}

func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return prefix + "_" + strings.ToLower(base64.RawURLEncoding.EncodeToString(b))
}

// DisabledUsers lists an organisation's disabled people, for its admin to
// enable again.
func (s *Store) DisabledUsers(ctx context.Context, orgID string) ([]cmr.User, error) {
	var rows []userWithRole
	if err := s.users(ctx).Where("users.disabled = ? AND users.organisation_id = ?", true, orgID).Order("users.email").Find(&rows).Error; err != nil {
		return nil, wrap("disabled users", err)
	}
	out := make([]cmr.User, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// Users lists the enabled users with their organisation's role, by
// organisation: every one, or those of orgIDs (an admin's page reads its
// own organisation's, not everybody's).
func (s *Store) Users(ctx context.Context, orgIDs ...string) ([]cmr.User, error) {
	var rows []userWithRole
	q := s.users(ctx).Where("users.disabled = ?", false)
	if len(orgIDs) > 0 {
		q = q.Where("users.organisation_id IN ?", orgIDs)
	}
	if err := q.Order("users.organisation_id, users.email").Find(&rows).Error; err != nil {
		return nil, wrap("users", err)
	}
	out := make([]cmr.User, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// User returns an enabled user by ID.
func (s *Store) User(ctx context.Context, id string) (cmr.User, error) {
	var row userWithRole
	if err := s.users(ctx).Where("users.id = ? AND users.disabled = ?", id, false).Take(&row).Error; err != nil {
		return cmr.User{}, wrap("user", err)
	}
	return row.domain(), nil
}
