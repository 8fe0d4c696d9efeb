package workflows

import (
	"context"
	"errors"
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
	if got := cmr.KindOf(translate("op", errors.New("boom"))); got == cmr.KindUnavailable {
		t.Errorf("an unknown error became unavailable")
	}
}
