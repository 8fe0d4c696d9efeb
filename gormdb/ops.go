package gormdb

import (
	"context"

	"github.com/cmr-idp/cmr"
)

// CaseCounts counts cases by status, for the metrics.
func (s *Store) CaseCounts(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Status string
		N      int
	}
	if err := s.db.WithContext(ctx).Table("cases").Select("status, COUNT(*) AS n").Group("status").Scan(&rows).Error; err != nil {
		return nil, wrap("count cases", err)
	}
	out := map[string]int{string(cmr.CaseOpen): 0, string(cmr.CaseCompleted): 0, string(cmr.CaseCancelled): 0}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// OverdueTickets counts open tickets that the ticket workflow has marked
// overdue (their SLA due moment passed).
func (s *Store) OverdueTickets(ctx context.Context) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Table("tickets").Where("state = ? AND breached_at IS NOT NULL", string(cmr.TicketOpen)).Count(&n).Error
	return int(n), wrap("count overdue tickets", err)
}
