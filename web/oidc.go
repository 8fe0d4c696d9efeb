package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/gormdb"
)

// Provider is an OpenID Connect identity provider the staff of some
// organisations sign in with: one per organisation, or one shared by many
// (Kennisnet Entree).
type Provider struct {
	Name          string   `json:"name"` // as the sign-in page shows it
	Issuer        string   `json:"issuer"`
	ClientID      string   `json:"client_id"`
	ClientSecret  string   `json:"client_secret"`
	Organisations []string `json:"organisations"` // IDs of the organisations whose people sign in here
}

// SignInStore keeps what OIDC sign-in needs: the people a first login is
// matched on, the links of provider accounts to users, and the sign-ins
// under way.
type SignInStore interface {
	People(ctx context.Context, orgID string) ([]cmr.Person, error)
	EmailPatterns(ctx context.Context, orgID string) ([]string, error)
	UserByIdentity(ctx context.Context, issuer, subject string) (cmr.User, error)
	LinkIdentity(ctx context.Context, issuer, subject, userID string) error
	SaveOIDCLogin(ctx context.Context, l gormdb.OIDCLogin) error
	TakeOIDCLogin(ctx context.Context, stateHash string, notBefore time.Time) (gormdb.OIDCLogin, error)
}

// signInWindow is how long a person may take at their provider.
const signInWindow = 10 * time.Minute

// oidcClients holds each provider's discovered configuration, fetched at
// its first use so that a provider that is down does not stop the server.
type oidcClients struct {
	mu        sync.Mutex
	providers map[string]*oidc.Provider
}

func (s *Server) providerFor(orgID string) (Provider, bool) {
	for _, p := range s.Providers {
		if slices.Contains(p.Organisations, orgID) {
			return p, true
		}
	}
	return Provider{}, false
}

func (s *Server) providerNamed(name string) (Provider, bool) {
	for _, p := range s.Providers {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// clientContext carries the HTTP client for talking to providers (tests
// give their own).
func (s *Server) clientContext(ctx context.Context) context.Context {
	if s.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, s.HTTPClient)
	}
	return ctx
}

func (s *Server) discover(ctx context.Context, p Provider) (*oidc.Provider, *oauth2.Config, error) {
	s.oidc.mu.Lock()
	defer s.oidc.mu.Unlock()
	op, ok := s.oidc.providers[p.Name]
	if !ok {
		var err error
		if op, err = oidc.NewProvider(s.clientContext(ctx), p.Issuer); err != nil {
			return nil, nil, fmt.Errorf("discover %s: %w", p.Name, &cmr.Error{Kind: cmr.KindUnavailable,
				Message:   "the sign-in service of your organisation does not answer; try again shortly",
				MessageNL: "de inlogdienst van uw organisatie antwoordt niet; probeer het zo opnieuw"})
		}
		s.oidc.providers[p.Name] = op
	}
	cfg := &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: s.PublicURL + "/login/callback", Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	return op, cfg, nil
}

// startSignIn sends the person to their organisation's provider: a deep
// link /login?org=… lands here directly, skipping the choice of
// organisation (seed 001). State, nonce and the PKCE verifier stay on the
// server, used once.
func (s *Server) startSignIn(c echo.Context, orgID string) error {
	ctx := c.Request().Context()
	p, ok := s.providerFor(orgID)
	if !ok {
		return s.fail(c, nil, cmr.ErrNotFound)
	}
	returnTo := c.QueryParam("return")
	if !localPath(returnTo) {
		returnTo = "/"
	}
	_, cfg, err := s.discover(ctx, p)
	if err != nil {
		return s.fail(c, nil, err)
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	if err := s.SignIn.SaveOIDCLogin(ctx, gormdb.OIDCLogin{StateHash: hashSessionID(state), Nonce: nonce, Verifier: verifier,
		Provider: p.Name, OrganisationID: orgID, ReturnTo: returnTo, CreatedAt: s.Now()}); err != nil {
		return s.fail(c, nil, err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusSeeOther, cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
}

// signInRefused is a sign-in that did not succeed, as the page says it.
func signInRefused(en, nl string) *cmr.Error {
	return &cmr.Error{Kind: cmr.KindForbidden, Message: en, MessageNL: nl}
}

var errSignInExpired = signInRefused("this sign-in has expired or was already used: sign in again",
	"deze inlogpoging is verlopen of al gebruikt: log opnieuw in")

// callback handles GET /login/callback: the provider sends the person
// back with a code. The code is exchanged with the PKCE verifier, the ID
// token verified (signature, issuer, audience, expiry) and its nonce
// compared; then the account is found by (issuer, subject) or, at a first
// login, matched to a registered person of the organisation.
func (s *Server) callback(c echo.Context) error {
	if s.SignIn == nil {
		return s.fail(c, nil, cmr.ErrNotFound) // no providers configured
	}
	ctx := c.Request().Context()
	state := c.QueryParam("state")
	if state == "" {
		return s.refuseSignIn(c, errSignInExpired)
	}
	login, err := s.SignIn.TakeOIDCLogin(ctx, hashSessionID(state), s.Now().Add(-signInWindow))
	if errors.Is(err, cmr.ErrNotFound) {
		return s.refuseSignIn(c, errSignInExpired)
	}
	if err != nil {
		return s.fail(c, nil, err)
	}
	if e := c.QueryParam("error"); e != "" {
		return s.refuseSignIn(c, signInRefused("your organisation's sign-in service did not sign you in ("+truncate(e, 40)+"); try again",
			"de inlogdienst van uw organisatie heeft u niet aangemeld ("+truncate(e, 40)+"); probeer het opnieuw"))
	}
	p, ok := s.providerNamed(login.Provider)
	if !ok {
		return s.refuseSignIn(c, errSignInExpired) // the provider was removed from the configuration meanwhile
	}
	op, cfg, err := s.discover(ctx, p)
	if err != nil {
		return s.fail(c, nil, err)
	}
	tok, err := cfg.Exchange(s.clientContext(ctx), c.QueryParam("code"), oauth2.VerifierOption(login.Verifier))
	if err != nil {
		return s.refuseSignIn(c, signInRefused("the sign-in could not be completed with your organisation's sign-in service; sign in again",
			"het inloggen kon niet worden afgerond bij de inlogdienst van uw organisatie; log opnieuw in"))
	}
	raw, _ := tok.Extra("id_token").(string)
	idToken, err := op.Verifier(&oidc.Config{ClientID: p.ClientID, Now: s.Now}).Verify(s.clientContext(ctx), raw)
	if err != nil || !sameToken(idToken.Nonce, login.Nonce) {
		return s.refuseSignIn(c, signInRefused("the answer of your organisation's sign-in service could not be trusted (signature, audience, expiry or nonce); sign in again",
			"het antwoord van de inlogdienst van uw organisatie is niet te vertrouwen (handtekening, doelgroep, geldigheid of nonce); log opnieuw in"))
	}
	if !s.byAccount.allow(idToken.Issuer+"\x00"+idToken.Subject, s.Now()) {
		return s.tooManySignIns(c)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified *bool  `json:"email_verified"`
		Username      string `json:"preferred_username"`
	}
	if err := idToken.Claims(&claims); err != nil {
		return s.refuseSignIn(c, errSignInExpired)
	}
	if claims.EmailVerified != nil && !*claims.EmailVerified {
		claims.Email = "" // an address the provider did not check matches nobody
	}
	u, err := s.SignIn.UserByIdentity(ctx, idToken.Issuer, idToken.Subject)
	switch {
	case err == nil:
		if !slices.Contains(p.Organisations, u.OrganisationID) {
			return s.refuseSignIn(c, signInRefused("this account belongs to an organisation that does not sign in with this service",
				"dit account hoort bij een organisatie die niet via deze inlogdienst inlogt"))
		}
	case errors.Is(err, cmr.ErrNotFound):
		if u, err = s.firstLogin(ctx, login.OrganisationID, cmr.LoginClaims{Issuer: idToken.Issuer, Subject: idToken.Subject, Email: claims.Email, Username: claims.Username}); err != nil {
			return s.refuseSignIn(c, err)
		}
	default:
		return s.fail(c, nil, err)
	}
	id, err := s.sessions.start(ctx, u)
	if err != nil {
		return s.fail(c, nil, err)
	}
	s.securityEvent(c, slog.LevelInfo, "sign_in", "via", "oidc", "provider", p.Name, "user_id", u.ID, "organisation_id", u.OrganisationID)
	c.SetCookie(sessionCookie(id, int(AbsoluteTimeout.Seconds())))
	return c.Redirect(http.StatusSeeOther, login.ReturnTo)
}

// firstLogin matches a provider account seen for the first time to a
// registered person of the organisation and links the two.
func (s *Server) firstLogin(ctx context.Context, orgID string, login cmr.LoginClaims) (cmr.User, error) {
	people, err := s.SignIn.People(ctx, orgID)
	if err != nil {
		return cmr.User{}, err
	}
	patterns, err := s.SignIn.EmailPatterns(ctx, orgID)
	if err != nil {
		return cmr.User{}, err
	}
	person, err := cmr.MatchPerson(login, people, patterns)
	if err != nil {
		return cmr.User{}, err
	}
	if err := s.SignIn.LinkIdentity(ctx, login.Issuer, login.Subject, person.UserID); err != nil {
		return cmr.User{}, err
	}
	return s.Store.User(ctx, person.UserID)
}

// refuseSignIn shows why a sign-in did not succeed, with a way back.
func (s *Server) refuseSignIn(c echo.Context, err error) error {
	if errors.Is(c.Request().Context().Err(), context.DeadlineExceeded) {
		// The provider or the database was too slow for the page's
		// deadline: that is no refusal, and not the person's doing.
		return s.fail(c, nil, errTooSlow())
	}
	msg := s.tr(c, "Er ging iets mis aan onze kant. Probeer het opnieuw.")
	var e *cmr.Error
	if errors.As(err, &e) {
		msg = e.Text(language(c))
	}
	reason := "internal"
	if e != nil {
		reason = e.Message // English, and without personal data
	}
	s.securityEvent(c, slog.LevelWarn, "sign_in_refused", "reason", reason)
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, http.StatusForbidden, "error", errorPage{page: page{Title: s.tr(c, "Inloggen niet gelukt"), Path: "/login"}, Message: msg})
}

// loginURL is where a stranger is sent: the sign-in page, remembering
// where they were going.
func loginURL(c echo.Context) string {
	if c.Request().Method != http.MethodGet || c.Request().URL.RequestURI() == "/" {
		return "/login"
	}
	return "/login?return=" + url.QueryEscape(c.Request().URL.RequestURI())
}
