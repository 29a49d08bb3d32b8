package main

import (
	"io"

	"github.com/lockbox-dev/lockbox"
)

// showNotifications prints the delivery history of a request's
// notifications: one row per e-mail or webhook delivery, then every attempt
// of those that needed more than one or failed.
func showNotifications(w io.Writer, ns []*lockbox.Notification) {
	rows := make([][]string, len(ns))
	var attempts [][]string
	for i, n := range ns {
		when := ""
		switch {
		case n.DeliveredAt != nil:
			when = cell(*n.DeliveredAt)
		case n.NextAttemptAt != nil:
			when = "next " + cell(*n.NextAttemptAt)
		}
		rows[i] = []string{cell(n.CreatedAt), cell(n.Channel), n.Recipient, cell(n.Kind), cell(n.Status),
			cell(n.Attempts), when, truncate(n.LastError, 60)}
		if n.Attempts > 1 || n.Status == lockbox.NotificationFailed {
			for _, a := range n.History {
				res := "delivered"
				if a.Error != "" {
					res = truncate(a.Error, 80)
				}
				attempts = append(attempts, []string{cell(a.At), cell(n.Channel), n.Recipient, res})
			}
		}
	}
	subtable(w, "Notifications", []string{"CREATED", "CHANNEL", "RECIPIENT", "KIND", "STATUS", "ATTEMPTS", "DELIVERED/NEXT", "LAST ERROR"}, rows)
	if len(attempts) > 0 {
		subtable(w, "Delivery attempts", []string{"TIME", "CHANNEL", "RECIPIENT", "RESULT"}, attempts)
	}
}
