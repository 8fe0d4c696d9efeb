package smtpmail

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"
)

func TestSendOverSMTP(t *testing.T) {
	srv := smtpmock.New(smtpmock.ConfigurationAttr{MultipleMessageReceiving: true})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	s, err := New(Config{Host: "127.0.0.1", Port: srv.PortNumber(), From: "CMR <noreply@cmr.example>", TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	m := Mail{To: "ict@school.example", Subject: "[CMR] Zaak 01AB-20270715 is afgerond", Text: "Zaak is afgerond.\n", MessageID: "01AB-20270715-2.1.case_completed.email.u_1@cmr.invalid"}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	msgs, err := srv.WaitForMessages(1, 5e9)
	if err != nil {
		t.Fatal(err)
	}
	body := msgs[0].MsgRequest()
	for _, want := range []string{"Message-ID: <" + m.MessageID + ">", "Zaak is afgerond.", "To: <ict@school.example>"} {
		if !strings.Contains(body, want) {
			t.Errorf("message lacks %q:\n%s", want, body)
		}
	}
}

func TestSendRefusedIsAnError(t *testing.T) {
	srv := smtpmock.New(smtpmock.ConfigurationAttr{MultipleMessageReceiving: true, BlacklistedRcpttoEmails: []string{"gone@school.example"}})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	s, _ := New(Config{Host: "127.0.0.1", Port: srv.PortNumber(), From: "noreply@cmr.example", TLS: "none"})
	if err := s.Send(context.Background(), Mail{To: "gone@school.example", Subject: "x", Text: "x", MessageID: "a@cmr.invalid"}); err == nil {
		t.Fatal("a refused recipient was reported as sent")
	}
}

func TestConfigRefused(t *testing.T) {
	for _, c := range []Config{{From: "a@b.example"}, {Host: "smtp.example"}, {Host: "smtp.example", From: "a@b.example", TLS: "ssl3"}} {
		if _, err := New(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestDirWritesOneFilePerMessage(t *testing.T) {
	d := &Dir{Path: filepath.Join(t.TempDir(), "mail"), From: "cmr@localhost"}
	m := Mail{To: "ict@school.example", Subject: "s", Text: "hallo", MessageID: "case#1.1/x@cmr.invalid"}
	for range 2 {
		if err := d.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := os.ReadDir(d.Path)
	if len(files) != 1 {
		t.Fatalf("want one .eml for one message sent twice, got %d", len(files))
	}
	b, _ := os.ReadFile(filepath.Join(d.Path, files[0].Name()))
	if !strings.Contains(string(b), "hallo") {
		t.Errorf("eml: %s", b)
	}
}
