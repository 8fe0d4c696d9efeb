// Package cmr is the domain of the CMR: IdP-migration cases in the Dutch
// education chain. A school that changes identity provider gets a case; every
// publisher's licence office (LiKa) gets a ticket with a working-day SLA.
//
// This package holds the rules only: which scenarios are supported (VO
// quadrants, the MBO matrix), the procedures as the SEM PSS supplement gives
// them, the Dutch working-day calendar and the deadline rules, and the error
// kinds every adapter maps to its own protocol. It does no I/O; its one
// dependency is the maintained holiday calendar github.com/rickar/cal/v2.
package cmr
