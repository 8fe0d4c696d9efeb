package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/cmr-idp/cmr"
)

// TestTranslateUnavailable: what says "not now" becomes 503 (unavailable),
// so that clients retry instead of reading a 500 as a bug.
func TestTranslateUnavailable(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for name, err := range map[string]error{
		"server unavailable":        serviceerror.NewUnavailable("frontend down"),
		"server deadline":           serviceerror.NewDeadlineExceeded("slow"),
		"workflow task failed":      serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to unexpected workflow task failure."),
		"client deadline":           context.DeadlineExceeded,
		"SDK stopped waiting, gone": withContext(cancelled, errors.New("Timeout or cancellation waiting for update")),
	} {
		if got := cmr.KindOf(translate("op", err)); got != cmr.KindUnavailable {
			t.Errorf("%s: kind %q, want unavailable", name, got)
		}
	}
	// A request the engine did not answer in time may still be carried
	// out: the caller is told to look before resending, not only to retry.
	for name, err := range map[string]error{"server deadline": serviceerror.NewDeadlineExceeded("slow"), "client deadline": context.DeadlineExceeded} {
		if got := translate("op", err).Error(); !strings.Contains(got, "did not answer in time") || !strings.Contains(got, "look at the case") {
			t.Errorf("%s: %q", name, got)
		}
	}
	if got := translate("op", serviceerror.NewUnavailable("frontend down")).Error(); !strings.Contains(got, "not reachable") {
		t.Errorf("server unavailable: %q", got)
	}
	if got := cmr.KindOf(translate("op", errors.New("boom"))); got == cmr.KindUnavailable {
		t.Errorf("an unknown error became unavailable")
	}
}
