package cmr

import (
	"errors"
	"fmt"
)

// ErrorKind classifies a failure once, here; the HTTP adapter maps each kind
// to a status code in exactly one place.
type ErrorKind string

// The kinds of failure a caller can act on.
const (
	KindInvalid      ErrorKind = "invalid"      // the input is wrong: fix it and retry
	KindUnauthorized ErrorKind = "unauthorized" // no or unknown credentials
	KindForbidden    ErrorKind = "forbidden"    // a party to the case, but not the right role
	KindNotFound     ErrorKind = "not_found"    // does not exist, or not visible to the caller
	KindConflict     ErrorKind = "conflict"     // valid, but not in the current state
	KindUnavailable  ErrorKind = "unavailable"  // a dependency is down; retry later
)

// Error is a failure with a message written for the user of the system: it
// says what was wrong and how to fix it, and never carries personal data.
//
// Message is English (the API's language); MessageNL says the same in Dutch
// for the web pages, whose users work in Dutch. Every error the system
// creates carries both: set the Dutch with NL where the error is made, so
// the two are written side by side (a test walks the source for ones that
// lack it).
type Error struct {
	Kind      ErrorKind
	Field     string // the input field at fault, if any
	Message   string
	MessageNL string
	// MessageEN is the English for the pages where it differs from
	// Message: the API names an input by its name in the API (done_on),
	// a page by the label it shows (Done on). Empty: Message.
	MessageEN string
	// Details are extra facts for the caller, e.g. the reasons a scenario
	// is not supported. Never personal data.
	Details map[string]any
	// Parts are the refusals Together joined, each whole (with its
	// MessageEN, which Details["problems"] does not carry to the API).
	Parts []*Error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// NL sets the Dutch message and returns e, so that it reads
// FieldErrorf("note", "is too long").NL("is te lang").
func (e *Error) NL(format string, args ...any) *Error {
	e.MessageNL = fmt.Sprintf(format, args...)
	return e
}

// EN sets the pages' English (MessageEN) and returns e, for a message
// whose API English names an input as the API takes it.
func (e *Error) EN(format string, args ...any) *Error {
	e.MessageEN = fmt.Sprintf(format, args...)
	return e
}

// Text is the message for the pages in lang ("nl" or "en"), without the
// field; English when no Dutch was given.
func (e *Error) Text(lang string) string {
	if lang == "nl" && e.MessageNL != "" {
		return e.MessageNL
	}
	if lang == "en" && e.MessageEN != "" {
		return e.MessageEN
	}
	return e.Message
}

// Errorf returns an *Error of the given kind.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns a KindInvalid *Error that names the field at fault.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Together joins the refusals of inputs checked apart from each other, so
// that a caller learns every mistake in one answer instead of one per
// attempt. Nil errors are skipped; one error is returned as it is.
// Several refusals of invalid input become one: its Field the first's,
// its messages naming each field in turn, and Details["problems"]
// listing them (field, error, error_nl). An error of another kind (the
// store unreachable) is returned alone: it says nothing of the input.
func Together(errs ...error) error {
	var invalid []*Error
	for _, err := range errs {
		if err == nil {
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindInvalid {
			return err
		}
		invalid = append(invalid, Problems(e)...) // one joined before: its problems one by one
	}
	switch len(invalid) {
	case 0:
		return nil
	case 1:
		return invalid[0]
	}
	first := invalid[0]
	joined := &Error{Kind: KindInvalid, Field: first.Field, Message: first.Message, MessageNL: first.Text("nl")}
	problems := make([]map[string]string, len(invalid))
	for i, e := range invalid {
		problems[i] = map[string]string{"field": e.Field, "error": e.Message, "error_nl": e.Text("nl")}
		if i > 0 {
			joined.Message += "; " + e.Error()
			joined.MessageNL += "; " + e.Field + ": " + e.Text("nl")
		}
	}
	joined.Details = map[string]any{"problems": problems}
	joined.Parts = invalid
	return joined
}

// Beside is err, a refusal of input, with the problems of more when more
// refuses input too (Together); when more is an error of another kind (a
// store that could not be read for the check), err alone: the input's
// faults stand, and the check can run once they are mended. With err nil,
// more.
func Beside(err, more error) error {
	switch {
	case err == nil:
		return more
	case KindOf(more) == KindInvalid:
		return Together(err, more)
	}
	return err
}

// Problems returns the refusals err holds one by one: the problems of a
// joined refusal (Together) each as its own *Error, any other *Error as
// it is; nil for nil or an error the domain did not classify.
func Problems(err error) []*Error {
	var e *Error
	if !errors.As(err, &e) {
		return nil
	}
	if len(e.Parts) > 0 {
		return e.Parts
	}
	// Joined elsewhere (a refusal rebuilt from the workflow engine's
	// answer): from its details.
	joined, ok := e.Details["problems"].([]map[string]string)
	if !ok {
		return []*Error{e}
	}
	out := make([]*Error, len(joined))
	for i, p := range joined {
		out[i] = &Error{Kind: e.Kind, Field: p["field"], Message: p["error"], MessageNL: p["error_nl"]}
	}
	return out
}

// KindOf returns the kind of err, or "" for errors the domain did not
// classify (which adapters treat as internal).
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// ErrNotFound is the error for an object that does not exist or that the
// caller may not see: the two are deliberately indistinguishable.
var ErrNotFound = &Error{Kind: KindNotFound, Message: "not found", MessageNL: "niet gevonden"}

// Recorded is what a caller is told when the workflow carried out its
// action but the answer could not be written or read back: the database
// went away in between, was too slow, or failed otherwise. The case
// workflow writes the same snapshot itself, retrying until it lands, so
// sending the action again would only be refused as done (or, for an
// opening without an Idempotency-Key, open a second case): the answer
// says so, and its details carry recorded (and the case, where the caller
// knows it) for clients that act on them. The cause stays in the chain
// for the log.
func Recorded(caseID string, err error) error {
	if err == nil {
		return nil
	}
	told := &Error{Kind: KindUnavailable,
		Message:   "your action is recorded, but its result cannot be shown yet because a service it needs did not answer; do not send it again: the case shows it shortly",
		MessageNL: "uw actie is vastgelegd, maar het resultaat kan nog niet worden getoond omdat een onderdeel van het systeem niet antwoordde; verstuur het niet opnieuw: de zaak toont het zo",
		Details:   map[string]any{"recorded": true}}
	if caseID != "" {
		told.Details["case_id"] = caseID
	}
	return errors.Join(told, err)
}

// IsRecorded reports whether err says that the action it answers was
// carried out (Recorded): the caller must not be invited to send it again.
func IsRecorded(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Details["recorded"] == true
}

// ErrPlanNotStored is a store's answer to a case's snapshot without its
// plan (every snapshot after the first) when it holds no steps for the
// case: the first snapshot is not stored yet, or the store lost the steps
// (a restore from a backup, say). Retried, the first lands; the case
// workflow also writes the snapshot again with its plan.
var ErrPlanNotStored = &Error{Kind: KindUnavailable, Message: "the case's steps are not stored yet; try again shortly",
	MessageNL: "de stappen van de zaak zijn nog niet opgeslagen; probeer het zo opnieuw"}
