package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox/notify"
)

// demoMailer is the demo's mailer: it needs no mail server. Each e-mail is
// announced on the demo's output and kept in full in a file of the data
// directory; `lockbox request show` lists every delivery of a request.
type demoMailer struct {
	mu   sync.Mutex
	out  io.Writer
	path string
}

// Send implements notify.Mailer.
func (m *demoMailer) Send(_ context.Context, e *notify.Email) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, err := os.OpenFile(m.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("demo mail file: %w", err)
	}
	_, err = fmt.Fprintf(f, "To: %s\nSubject: %s\nNotification: %s\n\n%s\n%s\n", e.To, e.Subject, e.ID,
		strings.TrimRight(e.Text, "\n"), strings.Repeat("=", 72))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("demo mail file: %w", err)
	}
	fmt.Fprintf(m.out, "[demo mail] to %s: %s\n", e.To, e.Subject)
	return nil
}

// demoMailCmd is `lockbox demo mail`: the e-mails a running (or finished)
// demo sent, read from its data directory.
func demoMailCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "mail",
		Short: "Print the e-mails the demo sent (it needs no mail server: it keeps them in its data directory)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				return usagef("--data-dir is required: the directory the demo printed")
			}
			b, err := os.ReadFile(filepath.Join(dataDir, "mail.txt"))
			if errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintln(cmd.OutOrStdout(), "no e-mails yet")
				return nil
			} else if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the demo's data directory")
	return cmd
}
