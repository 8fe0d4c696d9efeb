package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cmr-idp/cmr"
	"github.com/cmr-idp/cmr/aesgcm"
	"github.com/cmr-idp/cmr/gormdb"
	"github.com/cmr-idp/cmr/waswordt"
)

// runMigrate applies the embedded migrations.
func runMigrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	sqlite := fs.String("sqlite", "", "migrate this SQLite file instead of DATABASE_URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sqlite != "" {
		os.Setenv("CMR_SQLITE", *sqlite)
	}
	store, err := openStore(nil)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "database is up to date")
	return nil
}

func withStore(ctx context.Context, f func(*gormdb.Store) error) error {
	store, err := openStore(nil)
	if err != nil {
		return err
	}
	defer store.Close()
	return f(store)
}

// runToken creates or revokes API tokens.
func runToken(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "revoke") {
		return errors.New("usage: cmr token create|revoke --user EMAIL")
	}
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	email := fs.String("user", "", "the user's e-mail address")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("--user EMAIL is required")
	}
	return withStore(ctx, func(s *gormdb.Store) error {
		u, err := s.UserByEmail(ctx, *email)
		if err != nil {
			if err == cmr.ErrNotFound {
				return fmt.Errorf("no user with e-mail %s; add one with `cmr user add`", *email)
			}
			return err
		}
		if args[0] == "revoke" {
			if err := s.RevokeTokens(ctx, u.ID); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "revoked every API token of %s\n", u.Email)
			return nil
		}
		tok, err := s.CreateToken(ctx, u.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "API token for %s (%s, %s) — shown once, store it now:\n%s\n", u.Email, u.OrganisationID, u.Role, tok)
		return nil
	})
}

// runOrg registers an organisation.
func runOrg(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "patterns" {
		return runPatterns(ctx, args[1:], stdout)
	}
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: cmr org add --id ID --name NAME --role school|distributor|publisher|kennisnet [--brin BRIN --sector VO|MBO]")
	}
	fs := flag.NewFlagSet("org", flag.ContinueOnError)
	id := fs.String("id", "", "organisation ID (short, lowercase)")
	name := fs.String("name", "", "display name")
	role := fs.String("role", "", "school, distributor, publisher or kennisnet")
	brin := fs.String("brin", "", "BRIN number (schools)")
	sector := fs.String("sector", "", "VO or MBO (schools)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *id == "" || *name == "" {
		return errors.New("--id and --name are required")
	}
	o := cmr.Organisation{ID: *id, Name: *name, Role: cmr.Role(*role), BRIN: *brin, Sector: cmr.Sector(*sector)}
	if o.Role == cmr.RoleSchool {
		if _, err := cmr.ParseSector(*sector); err != nil || *brin == "" {
			return errors.New("a school needs --brin and --sector VO|MBO")
		}
	}
	return withStore(ctx, func(s *gormdb.Store) error {
		if err := s.UpsertOrganisation(ctx, o); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "organisation %s (%s) saved\n", o.ID, o.Role)
		return nil
	})
}

// runPatterns sets the e-mail patterns a first OIDC login is matched on.
func runPatterns(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("org patterns", flag.ContinueOnError)
	org := fs.String("org", "", "organisation ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *org == "" {
		return errors.New("usage: cmr org patterns --org ORG_ID PATTERN [PATTERN], e.g. '[firstname].[lastname]@school.nl'")
	}
	return withStore(ctx, func(s *gormdb.Store) error {
		if err := s.SetEmailPatterns(ctx, *org, fs.Args()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d e-mail pattern(s) saved for %s\n", len(fs.Args()), *org)
		return nil
	})
}

// runImport registers an organisation's people from its staff list.
func runImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("user import", flag.ContinueOnError)
	org := fs.String("org", "", "organisation ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *org == "" || fs.NArg() != 1 {
		return errors.New("usage: cmr user import --org ORG_ID staff.csv|staff.xlsx (columns Voornaam, Achternaam, E-mail; optional Beheerder, Code, OIDC-gebruikersnaam)")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	t, err := waswordt.Read(data)
	if err != nil {
		return err
	}
	list, probs := cmr.ParseStaff(t.Header, t.Rows)
	if len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintf(stdout, "row %d, %s: %s\n", p.Row, p.Column, p.EN)
		}
		return fmt.Errorf("%d problem(s): nothing imported", len(probs))
	}
	return withStore(ctx, func(s *gormdb.Store) error {
		added, updated, err := s.ImportStaff(ctx, *org, list)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d added, %d updated for %s\n", added, updated, *org)
		return nil
	})
}

// runUser registers a person for an organisation.
func runUser(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "import" {
		return runImport(ctx, args[1:], stdout)
	}
	if len(args) > 0 && args[0] == "admin" {
		return runSetAdmin(ctx, args[1:], stdout)
	}
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: cmr user add --email EMAIL --name NAME --org ORG_ID")
	}
	fs := flag.NewFlagSet("user", flag.ContinueOnError)
	email := fs.String("email", "", "e-mail address")
	name := fs.String("name", "", "name")
	org := fs.String("org", "", "organisation ID")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" || *name == "" || *org == "" {
		return errors.New("--email, --name and --org are required")
	}
	return withStore(ctx, func(s *gormdb.Store) error {
		if _, err := s.Organisation(ctx, *org); err != nil {
			return fmt.Errorf("no organisation %q; add it with `cmr org add`", *org)
		}
		u, err := s.UpsertUser(ctx, cmr.User{OrganisationID: *org, Email: *email, Name: *name})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s saved for %s (%s); create a token with `cmr token create --user %s`\n", u.Email, u.OrganisationID, u.Role, u.Email)
		return nil
	})
}

// runSetAdmin makes a person an admin of their organisation (or not).
func runSetAdmin(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("user admin", flag.ContinueOnError)
	email := fs.String("user", "", "the user's e-mail address")
	off := fs.Bool("off", false, "take the admin right away")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" {
		return errors.New("usage: cmr user admin --user EMAIL [--off]")
	}
	return withStore(ctx, func(s *gormdb.Store) error {
		u, err := s.UserByEmail(ctx, *email)
		if err != nil {
			return fmt.Errorf("no user with e-mail %s", *email)
		}
		if err := s.SetAdmin(ctx, u.ID, !*off); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s admin of %s: %v\n", u.Email, u.OrganisationID, !*off)
		return nil
	})
}

// runKey rotates the master key: every case's data key is re-wrapped from
// CMR_MASTER_KEY to CMR_NEW_MASTER_KEY in one transaction. Stop serve and
// worker first, and start them again with the new key.
func runKey(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return errors.New("usage: CMR_MASTER_KEY=old CMR_NEW_MASTER_KEY=new cmr key rotate")
	}
	oldKeys, err := masterKeyring()
	if err != nil {
		return err
	}
	raw, err := aesgcm.ParseKey(os.Getenv("CMR_NEW_MASTER_KEY"))
	if err != nil {
		return fmt.Errorf("CMR_NEW_MASTER_KEY: %w", err)
	}
	newKeys, err := aesgcm.NewKeyring(raw)
	if err != nil {
		return err
	}
	return withStore(ctx, func(s *gormdb.Store) error {
		n, err := s.RewrapCaseKeys(ctx, func(caseID string, wrapped []byte) ([]byte, error) { return oldKeys.Rewrap(caseID, wrapped, newKeys) })
		if err != nil {
			return fmt.Errorf("nothing changed: %w (is CMR_MASTER_KEY the key in use?)", err)
		}
		fmt.Fprintf(stdout, "%d case key(s) re-wrapped; start serve and worker with CMR_MASTER_KEY set to the new key\n", n)
		return nil
	})
}
