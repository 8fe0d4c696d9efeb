package api

import (
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
)

// Security events, logged as structured records (JSON in `cmr serve`) that
// carry IDs only: who (user and organisation ID), what (route, case,
// ticket or list ID) and the outcome, never a name, address or anything
// from a list, so that the log may be kept and shared with a security
// office.
const (
	eventTokenUsed     = "token_used"
	eventTokenRefused  = "token_refused"
	eventAccessDenied  = "access_denied"
	eventListDownload  = "list_downloaded"
	securityLogMessage = "security"
)

// securityEvent logs one security event for the request c.
func (s *Server) securityEvent(c echo.Context, level slog.Level, event string, attrs ...any) {
	base := []any{"event", event, "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
		"method", c.Request().Method, "route", c.Path()}
	if u, ok := c.Get(string(userKey)).(cmr.User); ok {
		base = append(base, "user_id", u.ID, "organisation_id", u.OrganisationID, "role", string(u.Role))
	}
	for _, p := range []string{"id", "list", "step"} {
		if v := c.Param(p); v != "" {
			base = append(base, "param_"+p, v)
		}
	}
	s.Logger.Log(c.Request().Context(), level, securityLogMessage, append(base, attrs...)...)
}
