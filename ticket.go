package lockbox

import "time"

// TicketStatus is open or resolved.
type TicketStatus string

// Ticket statuses.
const (
	TicketOpen     TicketStatus = "open"
	TicketResolved TicketStatus = "resolved"
)

// Ticket is a support case of a tenant: the "service request" an access
// request is filed for.
type Ticket struct {
	ID          TicketID     `json:"id"`
	TenantID    TenantID     `json:"tenant_id"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Severity    int          `json:"severity"`
	Status      TicketStatus `json:"status"`
	CreatedBy   UserID       `json:"created_by"`
	AssigneeID  UserID       `json:"assignee_id,omitempty"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	ResolvedAt  *time.Time   `json:"resolved_at,omitempty"`
	// Comments and History are filled when a single ticket is read.
	Comments []Comment `json:"comments,omitempty"`
	History  []*Event  `json:"history,omitempty"`
}

// Comment is a note on a ticket.
type Comment struct {
	ID        string    `json:"id"`
	TicketID  TicketID  `json:"ticket_id"`
	AuthorID  UserID    `json:"author_id"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// Severity bounds: 1 is critical, 4 is low.
const (
	SeverityCritical = 1
	SeverityLow      = 4
)
