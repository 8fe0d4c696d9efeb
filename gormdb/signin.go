package gormdb

import (
	"context"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/cmr-idp/cmr"
)

// People lists the enabled registered people of an organisation with what
// a first login is matched on.
func (s *Store) People(ctx context.Context, orgID string) ([]cmr.Person, error) {
	var rows []struct {
		ID, OrganisationID, FirstName, LastName, ShortCode string
		OIDCUsername                                       string `gorm:"column:oidc_username"`
	}
	err := s.db.WithContext(ctx).Table("users").
		Select("id, organisation_id, first_name, last_name, short_code, oidc_username").
		Where("organisation_id = ? AND disabled = ?", orgID, false).Order("id").Scan(&rows).Error
	if err != nil {
		return nil, wrap("people", err)
	}
	out := make([]cmr.Person, len(rows))
	for i, r := range rows {
		out[i] = cmr.Person{UserID: r.ID, OrganisationID: r.OrganisationID, FirstName: r.FirstName, LastName: r.LastName, ShortCode: r.ShortCode, OIDCUsername: r.OIDCUsername}
	}
	return out, nil
}

// SetPerson records what a person's first login is matched on; p.UserID
// names the user.
func (s *Store) SetPerson(ctx context.Context, p cmr.Person) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Table("users").Where("id = ?", p.UserID).Updates(map[string]any{
			"first_name": strings.TrimSpace(p.FirstName), "last_name": strings.TrimSpace(p.LastName),
			"short_code": strings.TrimSpace(p.ShortCode), "oidc_username": strings.ToLower(strings.TrimSpace(p.OIDCUsername)),
		})
		if res.Error == nil && res.RowsAffected == 0 {
			return cmr.ErrNotFound
		}
		if res.Error != nil {
			return res.Error
		}
		var org string
		if err := tx.Table("users").Select("organisation_id").Where("id = ?", p.UserID).Scan(&org).Error; err != nil {
			return err
		}
		return oneEach(tx, org, []string{p.UserID}, "")
	})
	if cmr.KindOf(err) != "" {
		return err
	}
	return wrap("save person", err)
}

// oneEach refuses a code or OIDC user name of the people ids that another
// enabled person of the organisation has too: sign-in finds a person by
// them, and would refuse both as ambiguous. Only the values just written
// are checked, so a pair from before this check does not block every
// other save. The refusal is at field, or at the value's own field.
func oneEach(tx *gorm.DB, orgID string, ids []string, field string) error {
	for _, c := range []struct{ column, en, nl string }{
		{"short_code", "code", "code"}, {"oidc_username", "OIDC user name", "OIDC-gebruikersnaam"},
	} {
		var shared []string
		mine := tx.Table("users").Select("LOWER("+c.column+")").Where("id IN ?", ids)
		if err := tx.Table("users").Select("LOWER("+c.column+")").
			Where("organisation_id = ? AND disabled = ? AND "+c.column+" <> '' AND LOWER("+c.column+") IN (?)", orgID, false, mine).
			Group("LOWER("+c.column+")").Having("COUNT(*) > 1").Limit(1).Pluck("LOWER("+c.column+")", &shared).Error; err != nil {
			return err
		}
		if len(shared) > 0 {
			f := field
			if f == "" {
				f = c.column
			}
			return cmr.FieldErrorf(f, "%q is the %s of another person of your organisation too: it must name one person", shared[0], c.en).
				NL("%q is ook de %s van een ander in uw organisatie: hij hoort bij één persoon", shared[0], c.nl)
		}
	}
	return nil
}

// SetEmailPatterns replaces an organisation's e-mail patterns, after
// checking each.
func (s *Store) SetEmailPatterns(ctx context.Context, orgID string, patterns []string) error {
	var keep []string
	for _, p := range patterns {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, err := cmr.CompileEmailPattern(p); err != nil {
			return err
		}
		keep = append(keep, strings.ToLower(p))
	}
	res := s.db.WithContext(ctx).Table("organisations").Where("id = ?", orgID).Update("email_patterns", strings.Join(keep, "\n"))
	if res.Error == nil && res.RowsAffected == 0 {
		return cmr.ErrNotFound
	}
	return wrap("save e-mail patterns", res.Error)
}

// EmailPatterns returns an organisation's e-mail patterns.
func (s *Store) EmailPatterns(ctx context.Context, orgID string) ([]string, error) {
	var text string
	if err := s.db.WithContext(ctx).Table("organisations").Select("email_patterns").Where("id = ?", orgID).Take(&text).Error; err != nil {
		return nil, wrap("e-mail patterns", err)
	}
	var out []string
	for _, p := range strings.Split(text, "\n") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

type identityRow struct {
	Issuer      string `gorm:"primaryKey"`
	Subject     string `gorm:"primaryKey"`
	UserID      string
	CreatedAt   time.Time
	LastLoginAt time.Time
}

func (identityRow) TableName() string { return "user_identities" }

// UserByIdentity returns the enabled user an identity provider's account
// (issuer, subject) is linked to, and records the login.
func (s *Store) UserByIdentity(ctx context.Context, issuer, subject string) (cmr.User, error) {
	var id identityRow
	if err := s.db.WithContext(ctx).Where("issuer = ? AND subject = ?", issuer, subject).Take(&id).Error; err != nil {
		return cmr.User{}, wrap("identity", err)
	}
	u, err := s.User(ctx, id.UserID)
	if err != nil {
		return cmr.User{}, err
	}
	s.db.WithContext(ctx).Model(&identityRow{}).Where("issuer = ? AND subject = ?", issuer, subject).Update("last_login_at", now())
	return u, nil
}

// LinkIdentity links an identity provider's account to a user, after a
// first login was matched to them.
func (s *Store) LinkIdentity(ctx context.Context, issuer, subject, userID string) error {
	t := now()
	return wrap("link identity", s.db.WithContext(ctx).Create(&identityRow{Issuer: issuer, Subject: subject, UserID: userID, CreatedAt: t, LastLoginAt: t}).Error)
}

// OIDCLogin is a sign-in under way at a provider.
type OIDCLogin struct {
	StateHash      string `gorm:"primaryKey"`
	Nonce          string
	Verifier       string
	Provider       string
	OrganisationID string
	ReturnTo       string
	CreatedAt      time.Time
}

// TableName maps OIDCLogin to its table.
func (OIDCLogin) TableName() string { return "oidc_logins" }

// SaveOIDCLogin stores a sign-in that is about to go to its provider.
func (s *Store) SaveOIDCLogin(ctx context.Context, l OIDCLogin) error {
	l.CreatedAt = l.CreatedAt.UTC()
	return wrap("save sign-in", s.db.WithContext(ctx).Create(&l).Error)
}

// TakeOIDCLogin returns and deletes the sign-in stored under stateHash,
// so that a callback works once. Sign-ins begun before notBefore are
// expired: not found.
func (s *Store) TakeOIDCLogin(ctx context.Context, stateHash string, notBefore time.Time) (OIDCLogin, error) {
	var l OIDCLogin
	if err := s.db.WithContext(ctx).Where("state_hash = ?", stateHash).Take(&l).Error; err != nil {
		return OIDCLogin{}, wrap("sign-in", err)
	}
	res := s.db.WithContext(ctx).Where("state_hash = ?", stateHash).Delete(&OIDCLogin{})
	if res.Error != nil {
		return OIDCLogin{}, wrap("sign-in", res.Error)
	}
	if res.RowsAffected == 0 || l.CreatedAt.Before(notBefore) {
		return OIDCLogin{}, cmr.ErrNotFound // another request took it, or it is too old
	}
	s.db.WithContext(ctx).Where("created_at < ?", notBefore.UTC()).Delete(&OIDCLogin{})
	return l, nil
}

// ImportStaff registers an organisation's people from its staff list, in
// one transaction: new addresses become users, known ones are updated
// (names, code, OIDC user name, admin). Nobody is removed.
func (s *Store) ImportStaff(ctx context.Context, orgID string, list cmr.StaffImport) (added, updated int, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var imported []string
		for _, r := range list.Rows {
			var existing userRow
			err := tx.Where("email = ?", r.Email).Take(&existing).Error
			switch {
			case err == nil && existing.OrganisationID != orgID:
				return cmr.Errorf(cmr.KindConflict, "row %d: %s belongs to another organisation", r.Row, r.Email).
					NL("regel %d: %s hoort bij een andere organisatie", r.Row, r.Email)
			case err == nil:
				updated++
			case errors.Is(err, gorm.ErrRecordNotFound):
				existing = userRow{ID: newID("u"), OrganisationID: orgID, Email: r.Email, CreatedAt: now()}
				if err := tx.Create(&existing).Error; err != nil {
					return err
				}
				added++
			default:
				return err
			}
			set := map[string]any{"name": strings.TrimSpace(r.FirstName + " " + r.LastName), "first_name": r.FirstName, "last_name": r.LastName}
			if list.HasCode {
				set["short_code"] = r.ShortCode
			}
			if list.HasOIDC {
				set["oidc_username"] = r.OIDCUsername
			}
			if list.HasAdmin {
				set["admin"] = r.Admin
			}
			if err := tx.Table("users").Where("id = ?", existing.ID).Updates(set).Error; err != nil {
				return err
			}
			imported = append(imported, existing.ID)
		}
		if err := oneEach(tx, orgID, imported, "file"); err != nil {
			return err
		}
		if list.HasAdmin {
			// Only an admin imports: a list that takes the right from
			// every one would lock the organisation out of its page.
			var admins int64
			if err := tx.Table("users").Where("organisation_id = ? AND admin = ? AND disabled = ?", orgID, true, false).Count(&admins).Error; err != nil {
				return err
			}
			if admins == 0 {
				return cmr.FieldErrorf("file", "this list leaves the organisation without an admin: keep \"ja\" under Beheerder for at least one person").
					NL("deze lijst laat de organisatie zonder beheerder: houd bij ten minste één persoon \"ja\" onder Beheerder")
			}
		}
		return nil
	})
	if cmr.KindOf(err) != "" {
		return 0, 0, err
	}
	return added, updated, wrap("import staff", err)
}

// SetAdmin makes a user an admin of their organisation, or not.
func (s *Store) SetAdmin(ctx context.Context, userID string, admin bool) error {
	res := s.db.WithContext(ctx).Table("users").Where("id = ?", userID).Update("admin", admin)
	if res.Error == nil && res.RowsAffected == 0 {
		return cmr.ErrNotFound
	}
	return wrap("save admin", res.Error)
}

// TokenInfo is an API token as its organisation's admin sees it: never
// the token itself, which is shown once at creation.
type TokenInfo struct {
	ID         string
	Label      string
	UserID     string
	UserName   string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Tokens lists the API tokens of an organisation's people, newest first.
func (s *Store) Tokens(ctx context.Context, orgID string) ([]TokenInfo, error) {
	var out []TokenInfo
	err := s.db.WithContext(ctx).Table("api_tokens").
		Select("api_tokens.id, api_tokens.label, api_tokens.user_id, users.name AS user_name, api_tokens.created_at, api_tokens.last_used_at, api_tokens.revoked_at").
		Joins("JOIN users ON users.id = api_tokens.user_id").Where("users.organisation_id = ?", orgID).
		Order("api_tokens.created_at DESC, api_tokens.id").Scan(&out).Error
	return out, wrap("tokens", err)
}

// RevokeToken revokes one token of an organisation; a token of another
// organisation is not found.
func (s *Store) RevokeToken(ctx context.Context, orgID, tokenID string) error {
	res := s.db.WithContext(ctx).Model(&tokenRow{}).
		Where("id = ? AND revoked_at IS NULL AND user_id IN (SELECT id FROM users WHERE organisation_id = ?)", tokenID, orgID).
		Update("revoked_at", now())
	if res.Error == nil && res.RowsAffected == 0 {
		return cmr.ErrNotFound
	}
	return wrap("revoke token", res.Error)
}

// EnableUser lets a disabled person of the organisation in again. The API
// tokens revoked when they were disabled stay revoked. A code or OIDC user
// name given to another person meanwhile refuses it.
func (s *Store) EnableUser(ctx context.Context, orgID, userID string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Table("users").Where("id = ? AND organisation_id = ? AND disabled = ?", userID, orgID, true).Update("disabled", false)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return cmr.ErrNotFound
		}
		return oneEach(tx, orgID, []string{userID}, "")
	})
	if cmr.KindOf(err) != "" {
		return err
	}
	return wrap("enable user", err)
}

// DisableUser disables a person of an organisation: their sessions end and
// their API tokens stop working at once. A person of another organisation
// is not found.

func (s *Store) DisableUser(ctx context.Context, orgID, userID string) error {
	return wrap("disable user", s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Table("users").Where("id = ? AND organisation_id = ?", userID, orgID).Update("disabled", true)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		if err := tx.Where("user_id = ?", userID).Delete(&WebSession{}).Error; err != nil {
			return err
		}
		return tx.Model(&tokenRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", now()).Error
	}))
}
