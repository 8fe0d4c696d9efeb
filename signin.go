package cmr

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Person is a registered member of an organisation's staff as sign-in
// sees them: what a first login through the organisation's identity
// provider is matched on (seed 003).
type Person struct {
	UserID         string
	OrganisationID string
	FirstName      string
	LastName       string // with any tussenvoegsel, "van der Berg"
	ShortCode      string // a teacher's or employee's short code, if the organisation uses them
	// OIDCUsername is set by the organisation's admin where the e-mail
	// pattern cannot tell people apart (two "Max Mustermann"s) or a
	// person's address follows no pattern.
	OIDCUsername string
}

// LoginClaims is what an identity provider says about the person signing
// in, after its token was verified.
type LoginClaims struct {
	Issuer   string
	Subject  string
	Email    string
	Username string // preferred_username, if the provider sends one
}

// The placeholders of an e-mail pattern.
var patternFields = map[string]string{
	"[firstname]": `(?P<first>[^.@]+)`,
	"[lastname]":  `(?P<last>[^.@]+)`,
	"[f]":         `(?P<f>[^.@])`,
	"[l]":         `(?P<l>[^.@])`,
	"[code]":      `(?P<code>[^.@]+)`,
	"[class]":     `[^.@]+`,
}

var placeholder = regexp.MustCompile(`\[[a-z]+\]`)

// CompileEmailPattern checks an organisation's e-mail pattern, such as
// "[firstname].[lastname]@lyceum.nl", and returns it as an expression.
func CompileEmailPattern(p string) (*regexp.Regexp, error) {
	p = strings.TrimSpace(strings.ToLower(p))
	at := strings.LastIndexByte(p, '@')
	if at <= 0 || at == len(p)-1 || strings.Contains(p[at:], "[") {
		return nil, FieldErrorf("email_patterns", "%q is not a pattern like [firstname].[lastname]@school.nl: it needs placeholders before the @ and the domain after it", p).
			NL("%q is geen patroon als [firstname].[lastname]@school.nl: vóór de @ staan plaatshouders, erna het domein", p)
	}
	var b strings.Builder
	b.WriteString("^")
	rest, named := p, false
	for {
		loc := placeholder.FindStringIndex(rest)
		if loc == nil {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		b.WriteString(regexp.QuoteMeta(rest[:loc[0]]))
		tok := rest[loc[0]:loc[1]]
		expr, ok := patternFields[tok]
		if !ok {
			return nil, FieldErrorf("email_patterns", "unknown placeholder %s; use [firstname], [lastname], [f], [l], [code] or [class]", tok).
				NL("onbekende plaatshouder %s; gebruik [firstname], [lastname], [f], [l], [code] of [class]", tok)
		}
		if strings.Contains(b.String(), expr) && tok != "[class]" {
			return nil, FieldErrorf("email_patterns", "%s appears twice in %q", tok, p).NL("%s staat twee keer in %q", tok, p)
		}
		named = named || tok != "[class]"
		b.WriteString(expr)
		rest = rest[loc[1]:]
	}
	if !named {
		return nil, FieldErrorf("email_patterns", "%q names nobody: use [firstname], [lastname], [f], [l] or [code]", p).
			NL("%q wijst niemand aan: gebruik [firstname], [lastname], [f], [l] of [code]", p)
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// SignInName folds a name or address part for comparison: lower case,
// no diacritics, no spaces, hyphens or apostrophes ("Van der Berg-Özil"
// and "vanderbergozil" are the same).
func SignInName(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(strings.TrimSpace(s))) {
		switch {
		case unicode.Is(unicode.Mn, r), unicode.IsSpace(r), r == '-', r == '\'', r == '’':
		case r == 'ß':
			b.WriteString("ss")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MatchPerson finds the registered person a first login belongs to: the
// one whose explicit OIDC user name is the login's, or else the one the
// organisation's e-mail patterns point at. Only a single fit is a match;
// none or several are refused with what the organisation's admin must do,
// never guessed (seed 003).
func MatchPerson(login LoginClaims, people []Person, patterns []string) (Person, error) {
	names := map[string]bool{}
	for _, n := range []string{login.Username, login.Email} {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			names[n] = true
		}
	}
	var explicit []Person
	for _, p := range people {
		if u := strings.ToLower(strings.TrimSpace(p.OIDCUsername)); u != "" && names[u] {
			explicit = append(explicit, p)
		}
	}
	switch len(explicit) {
	case 1:
		return explicit[0], nil
	case 0:
	default:
		return Person{}, ambiguousLogin(len(explicit))
	}

	email := strings.ToLower(strings.TrimSpace(login.Email))
	fits := map[string]Person{}
	for _, raw := range patterns {
		re, err := CompileEmailPattern(raw)
		if err != nil || email == "" {
			continue
		}
		m := re.FindStringSubmatch(email)
		if m == nil {
			continue
		}
		want := map[string]string{}
		for i, name := range re.SubexpNames() {
			if name != "" {
				want[name] = SignInName(m[i])
			}
		}
		for _, p := range people {
			if p.OIDCUsername != "" {
				continue // an explicit user name replaces the pattern for this person
			}
			if fitsPattern(p, want) {
				fits[p.UserID] = p
			}
		}
	}
	switch len(fits) {
	case 1:
		for _, p := range fits {
			return p, nil
		}
	case 0:
		return Person{}, Errorf(KindForbidden, "your organisation has not registered you, or your address follows none of its patterns: ask your organisation's CMR admin to register you, or to set your OIDC user name on your person").
			NL("uw organisatie heeft u niet geregistreerd, of uw adres volgt geen van haar patronen: vraag de CMR-beheerder van uw organisatie u te registreren, of uw OIDC-gebruikersnaam bij uw persoon in te stellen")
	}
	return Person{}, ambiguousLogin(len(fits))
}

func fitsPattern(p Person, want map[string]string) bool {
	first, last := SignInName(p.FirstName), SignInName(p.LastName)
	for field, v := range want {
		var ok bool
		switch field {
		case "first":
			ok = first == v
		case "last":
			ok = last == v
		case "f":
			ok = first != "" && strings.HasPrefix(first, v)
		case "l":
			ok = last != "" && strings.HasPrefix(last, v)
		case "code":
			ok = p.ShortCode != "" && SignInName(p.ShortCode) == v
		}
		if !ok || v == "" {
			return false
		}
	}
	return true
}

func ambiguousLogin(n int) *Error {
	return Errorf(KindForbidden, "%d registered people fit this login, so it cannot be told whose it is: ask your organisation's CMR admin to set the OIDC user name on each of them", n).
		NL("%d geregistreerde personen passen bij deze login, dus het is niet te zeggen wie u bent: vraag de CMR-beheerder van uw organisatie bij elk van hen de OIDC-gebruikersnaam in te stellen", n)
}
