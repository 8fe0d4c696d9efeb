package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cmr-idp/cmr"
)

// The pages' deadlines are the API's (api.DefaultRequestTimeout and
// api.DefaultUploadTimeout): a person who opens a case or completes a step
// in the browser waits on the same workflow engine as a system that calls
// the API.
const (
	DefaultRequestTimeout = 8 * time.Second
	DefaultUploadTimeout  = 75 * time.Second
)

// deadline gives a page request at most s.RequestTimeout, or
// s.UploadTimeout on a route that carries a file. The workflow engine's
// client and the database driver end their waits with the context and
// classify that as unavailable; fail shows anything else the deadline cut
// short as unavailable too, never as an error of ours.
func (s *Server) deadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		d := s.RequestTimeout
		if c.Request().Method == http.MethodPost && uploadRoutes[c.Path()] {
			d = s.UploadTimeout
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), d)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

func errTooSlow() *cmr.Error {
	return cmr.Errorf(cmr.KindUnavailable, "the page took too long because a service it needs is slow or not reachable; try again shortly").
		NL("de pagina duurde te lang omdat een onderdeel van de dienst traag of niet bereikbaar is; probeer het zo opnieuw")
}
