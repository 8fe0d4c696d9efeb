package gormdb

import (
	"context"
	"time"

	"github.com/cmr-idp/cmr"
)

type openingRow struct {
	CaseID         string `gorm:"primaryKey"`
	OrganisationID string
	IdempotencyKey *string
	RequestHash    string
	CreatedAt      time.Time
}

func (openingRow) TableName() string { return "case_openings" }

// ReserveOpening reserves o.CaseID for one request to open a case. A case
// ID or an idempotency key already reserved is a conflict: the caller
// takes the next ID, or looks the key up (OpeningByKey).
func (s *Store) ReserveOpening(ctx context.Context, o cmr.Opening) error {
	row := openingRow{CaseID: o.CaseID, OrganisationID: o.OrganisationID, RequestHash: o.RequestHash, CreatedAt: now()}
	if o.Key != "" {
		row.IdempotencyKey = &o.Key
	}
	return wrap("reserve case "+o.CaseID, s.db.WithContext(ctx).Create(&row).Error)
}

// OpeningByKey finds the opening an organisation reserved under an
// idempotency key; cmr.ErrNotFound when there is none.
func (s *Store) OpeningByKey(ctx context.Context, organisationID, key string) (cmr.Opening, error) {
	if key == "" {
		return cmr.Opening{}, cmr.ErrNotFound
	}
	var row openingRow
	err := s.db.WithContext(ctx).Where("organisation_id = ? AND idempotency_key = ?", organisationID, key).Take(&row).Error
	if err != nil {
		return cmr.Opening{}, wrap("opening by key", err)
	}
	return cmr.Opening{CaseID: row.CaseID, OrganisationID: row.OrganisationID, Key: key, RequestHash: row.RequestHash}, nil
}
