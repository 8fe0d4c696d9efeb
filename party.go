package cmr

import "fmt"

// Role is what an organisation is in the chain; a user has the role of the
// organisation it belongs to.
type Role string

// The parties of the procedure (DOMAIN.md §2).
const (
	RoleSchool      Role = "school"
	RoleDistributor Role = "distributor"
	RolePublisher   Role = "publisher" // a publisher's licence office (LiKa)
	RoleKennisnet   Role = "kennisnet" // Kennisnet support, runs Entree Federatie
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleSchool, RoleDistributor, RolePublisher, RoleKennisnet:
		return true
	}
	return false
}

// English is the role's name in English messages.
func (r Role) English() string {
	switch r {
	case RoleSchool:
		return "school"
	case RoleDistributor:
		return "distributor"
	case RolePublisher:
		return "publisher/LiKa"
	case RoleKennisnet:
		return "Kennisnet Support"
	}
	return string(r)
}

// Dutch is the role's name as the users say it.
func (r Role) Dutch() string {
	switch r {
	case RoleSchool:
		return "school"
	case RoleDistributor:
		return "distributeur"
	case RolePublisher:
		return "uitgever/LiKa"
	case RoleKennisnet:
		return "Kennisnet Support"
	}
	return string(r)
}

// Sector is the kind of education a school gives.
type Sector string

// Sectors with their own procedure.
const (
	SectorVO  Sector = "VO"  // voortgezet onderwijs (secondary)
	SectorMBO Sector = "MBO" // middelbaar beroepsonderwijs (vocational)
)

// ParseSector accepts "VO" or "MBO".
func ParseSector(s string) (Sector, error) {
	switch Sector(s) {
	case SectorVO, SectorMBO:
		return Sector(s), nil
	}
	return "", FieldErrorf("sector", "must be \"VO\" or \"MBO\", got %q", s).NL("moet VO of MBO zijn, niet %q", s)
}

// Organisation is a party in the chain.
type Organisation struct {
	ID     string
	Name   string
	Role   Role
	BRIN   string // schools only
	Sector Sector // schools only
}

// User is a person (or a system) acting for one organisation.
type User struct {
	ID             string
	OrganisationID string
	Email          string
	Name           string
	Role           Role
	// Admin may manage the organisation's people, e-mail patterns and API
	// tokens.
	Admin bool
}

// Actor identifies who performs an action: IDs only, so it may travel in
// workflow payloads.
type Actor struct {
	UserID         string `json:"user_id"`
	OrganisationID string `json:"organisation_id"`
	Role           Role   `json:"role"`
}

func (a Actor) String() string {
	return fmt.Sprintf("%s (%s, %s)", a.UserID, a.OrganisationID, a.Role)
}
