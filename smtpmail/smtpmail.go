// Package smtpmail sends the CMR's notification e-mails over SMTP with
// github.com/wneessen/go-mail, or, in `cmr dev`, writes them as .eml files
// into a folder so that they can be read without a mail server.
package smtpmail

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// Mail is one message to one person. MessageID is derived from the
// delivery, so a message sent twice after a crash is recognisable as one.
type Mail struct {
	To        string
	Subject   string
	Text      string
	MessageID string
}

// Config is an SMTP server. TLS is "starttls" (default: STARTTLS
// required), "tls" (implicit TLS, port 465) or "none" (a relay on a
// trusted network, and tests).
type Config struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string
	TLS      string
}

// Sender sends over SMTP.
type Sender struct {
	cfg Config
}

// New checks cfg and returns a sender.
func New(cfg Config) (*Sender, error) {
	if cfg.Host == "" || cfg.From == "" {
		return nil, fmt.Errorf("smtp: a host and a from address are required")
	}
	switch cfg.TLS {
	case "", "starttls", "tls", "none":
	default:
		return nil, fmt.Errorf("smtp: TLS must be starttls, tls or none, not %q", cfg.TLS)
	}
	return &Sender{cfg: cfg}, nil
}

func (s *Sender) message(m Mail) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient address is not valid")
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.MessageID)
	msg.SetDate()
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	return msg, nil
}

// Send delivers one message.
func (s *Sender) Send(ctx context.Context, m Mail) error {
	msg, err := s.message(m)
	if err != nil {
		return err
	}
	// Greet as the sender's domain: a bare host name ("vm") is refused
	// by servers that want a domain in HELO.
	opts := []mail.Option{mail.WithTimeout(20 * time.Second), mail.WithHELO(heloDomain(s.cfg.From))}
	if s.cfg.Port != 0 {
		opts = append(opts, mail.WithPort(s.cfg.Port))
	}
	switch s.cfg.TLS {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(s.cfg.Username), mail.WithPassword(s.cfg.Password))
	}
	c, err := mail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp send via %s: %w", s.cfg.Host, err)
	}
	return nil
}

func heloDomain(from string) string {
	from = strings.TrimSuffix(strings.TrimSpace(from), ">")
	if i := strings.LastIndex(from, "@"); i >= 0 && i < len(from)-1 {
		if ip := net.ParseIP(from[i+1:]); ip != nil {
			return "[" + ip.String() + "]" // an address literal
		}
		return from[i+1:]
	}
	return "localhost"
}

// Dir writes each message as an .eml file named after its message ID
// (`cmr dev` without a mail server): a message written twice overwrites
// itself.
type Dir struct {
	Path string
	From string
}

// Send writes m into the folder.
func (d *Dir) Send(_ context.Context, m Mail) error {
	s := &Sender{cfg: Config{From: d.From}}
	msg, err := s.message(m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return fmt.Errorf("mail folder: %w", err)
	}
	name := strings.NewReplacer("/", "_", "#", "_", "<", "", ">", "", "@", "_").Replace(m.MessageID) + ".eml"
	f, err := os.OpenFile(filepath.Join(d.Path, name), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("mail file: %w", err)
	}
	if _, err := msg.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("mail file: %w", err)
	}
	return f.Close()
}
