package web

import (
	"log/slog"

	"github.com/labstack/echo/v4"
)

// securityEvent logs a sign-in, sign-out or refusal as a structured record
// with IDs only (user, organisation, route, the path's object ID, the
// provider): never a name, an e-mail address or a token.
func (s *Server) securityEvent(c echo.Context, level slog.Level, event string, attrs ...any) {
	base := []any{"event", event, "method", c.Request().Method, "route", c.Path()}
	if ss, ok := c.Get(sessionKey).(*session); ok && ss != nil {
		base = append(base, "user_id", ss.User.ID, "organisation_id", ss.User.OrganisationID, "role", string(ss.User.Role))
	}
	if v := c.Param("id"); v != "" {
		base = append(base, "param_id", v)
	}
	s.Logger.Log(c.Request().Context(), level, "security", append(base, attrs...)...)
}
