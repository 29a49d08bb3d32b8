package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/client"
	"github.com/lockbox-dev/lockbox/tlog"
)

// logCmd is `lockbox log verify|show|export`: the tenant's verifiable log.
func (c *cli) logCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Verify, show or export a tenant's transparency log",
	}
	cmd.AddCommand(c.logVerifyCmd(), c.logShowCmd(), c.logExportCmd(), c.logKeyCmd())
	return cmd
}

func (c *cli) logKeyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "key",
		Short: "Print the server's log verifier key, to compare with the one your operator publishes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			server, token, err := c.credentialsFor()
			if err != nil {
				return err
			}
			f := tlog.NewHTTPFetcher(server, token, "")
			f.Client = c.httpClient
			key, err := f.Key(cmd.Context())
			if err != nil {
				return err
			}
			return c.emit(tlog.KeyResponse{Key: key}, func(w io.Writer) { fmt.Fprintln(w, key) })
		},
	}
}

func (c *cli) logVerifyCmd() *cobra.Command {
	var tenant, key, stateFile string
	cmd := &cobra.Command{
		Use:   "verify --tenant ID [--key VKEY] [--state FILE]",
		Short: "Check a tenant's log end to end against its signed checkpoint",
		Long: `Fetch the tenant's signed checkpoint, check its signature, fetch every entry
(or those since the last run, with --state), recompute the Merkle root and
check that the log only grew since the checkpoint trusted last time.

A log that shrank, a different root for the same size or a forked history
is reported loudly, with both signed checkpoints as evidence, and a non-zero
exit; a damaged entry is named by its index. --key pins the server's log
key (from GET /v1/log/key, published by the operator); without it the key
is trusted on first use and kept in the state file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenant == "" {
				return usagef("--tenant is required")
			}
			server, token, err := c.credentialsFor()
			if err != nil {
				return err
			}
			f := tlog.NewHTTPFetcher(server, token, tenant)
			f.Client = c.httpClient
			var state *tlog.State
			if stateFile != "" {
				b, err := os.ReadFile(stateFile)
				switch {
				case errors.Is(err, os.ErrNotExist):
				case err != nil:
					return err
				default:
					state = &tlog.State{}
					if err := json.Unmarshal(b, state); err != nil {
						return fmt.Errorf("%s is not a lockbox log state file: %w", stateFile, err)
					}
				}
			}
			if key == "" {
				if key, err = f.Key(cmd.Context()); err != nil {
					return fmt.Errorf("fetching the log key: %w", err)
				}
				if state == nil {
					fmt.Fprintf(c.stderr, "lockbox: warning: trusting the server's log key on first use: %s\n  pin it with --key, comparing it with the key your operator publishes\n", key)
				}
			}
			verifier, err := tlog.NewVerifier(key)
			if err != nil {
				return fmt.Errorf("--key: %w", err)
			}
			origin := tlog.CheckpointOrigin(verifier.Name(), tenant)
			rep, err := tlog.Verify(cmd.Context(), f, verifier, origin, state)
			if err != nil {
				return explainVerifyError(c.stderr, err)
			}
			if stateFile != "" {
				b, _ := json.MarshalIndent(rep.State, "", "  ")
				if err := writeFileAtomic(stateFile, append(b, '\n')); err != nil {
					return fmt.Errorf("saving the state: %w", err)
				}
			}
			out := map[string]any{"origin": rep.Origin, "old_size": rep.OldSize, "size": rep.NewSize,
				"entries_checked": rep.EntriesChecked, "root": rep.Root, "verified": true}
			return c.emit(out, func(w io.Writer) {
				fmt.Fprintf(w, "verified: %s has %d entries (%d checked now", rep.Origin, rep.NewSize, rep.EntriesChecked)
				if rep.OldSize > 0 {
					fmt.Fprintf(w, "; it extends the %d entries trusted before", rep.OldSize)
				}
				fmt.Fprintf(w, ")\nroot %x, signed by %s\n", rep.Root, tlog.KeyID(verifier))
			})
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant whose log to verify")
	cmd.Flags().StringVar(&key, "key", "", "the log's verifier key (name+hash+key); default: the server's, trusted on first use")
	cmd.Flags().StringVar(&stateFile, "state", "", "file keeping the last trusted checkpoint, so rollbacks and forks are caught and only new entries are fetched")
	return cmd
}

// explainVerifyError prints the evidence of a rollback or fork and returns
// the error for the exit status.
func explainVerifyError(w io.Writer, err error) error {
	var rb *tlog.RollbackError
	var fk *tlog.ForkError
	switch {
	case errors.As(err, &rb):
		fmt.Fprintf(w, "LOG ROLLED BACK\n--- trusted checkpoint ---\n%s--- checkpoint now served ---\n%s", rb.Trusted, rb.Presented)
	case errors.As(err, &fk):
		fmt.Fprintf(w, "LOG FORKED\n--- trusted checkpoint ---\n%s--- checkpoint now served ---\n%s", fk.Trusted, fk.Presented)
	}
	return fmt.Errorf("log verification FAILED: %w", err)
}

// writeFileAtomic replaces path with data (mode 0600).
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".lockbox-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// eachEvent calls fn with every event of the tenant's log after the index,
// oldest first, page by page.
func (c *cli) eachEvent(cmd *cobra.Command, tenant lockbox.TenantID, f client.EventFilter, fn func(*lockbox.Event) error) error {
	cl, err := c.apiClient()
	if err != nil {
		return err
	}
	f.Page.Size = lockbox.MaxPageSize
	for {
		page, err := cl.ListEvents(cmd.Context(), tenant, f)
		if err != nil {
			return err
		}
		for _, e := range page.Items {
			if err := fn(e); err != nil {
				return err
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		f.Page.Token = page.NextPageToken
	}
}

func (c *cli) logShowCmd() *cobra.Command {
	var request, typ, since, until string
	cmd := &cobra.Command{
		Use:   "show TENANT [--request ID] [--type T] [--since TIME] [--until TIME]",
		Short: "Show a tenant's events in a table, filtered",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var from, to time.Time
			var err error
			if since != "" {
				if from, err = time.Parse(time.RFC3339, since); err != nil {
					return usagef("--since: use RFC 3339, such as 2026-11-27T09:00:00Z")
				}
			}
			if until != "" {
				if to, err = time.Parse(time.RFC3339, until); err != nil {
					return usagef("--until: use RFC 3339, such as 2026-11-27T18:00:00Z")
				}
			}
			var shown lockbox.List[*lockbox.Event]
			shown.Items = []*lockbox.Event{}
			err = c.eachEvent(cmd, lockbox.TenantID(args[0]), client.EventFilter{Type: lockbox.EventType(typ)}, func(e *lockbox.Event) error {
				if (request == "" || string(e.RequestID) == request) &&
					(from.IsZero() || !e.Time.Before(from)) && (to.IsZero() || e.Time.Before(to)) {
					shown.Items = append(shown.Items, e)
				}
				return nil
			})
			if err != nil {
				return err
			}
			return emitList(c, cmd, args, &shown, eventColumns)
		},
	}
	cmd.Flags().StringVar(&request, "request", "", "only events of this access request")
	cmd.Flags().StringVar(&typ, "type", "", "only events of this type, such as access.allowed")
	cmd.Flags().StringVar(&since, "since", "", "only events at or after this time (RFC 3339)")
	cmd.Flags().StringVar(&until, "until", "", "only events before this time (RFC 3339)")
	return cmd
}

func (c *cli) logExportCmd() *cobra.Command {
	var after int64
	cmd := &cobra.Command{
		Use:   "export TENANT [--after N]",
		Short: "Export a tenant's events as JSON lines, for a SIEM",
		Long: `Write every event of the tenant's log after index N (default: all), one JSON
object per line, oldest first. Run it again with --after <last index> to
ship only what is new.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := client.EventFilter{}
			if changed(cmd, "after") {
				f.After = &after
			}
			enc := json.NewEncoder(c.stdout)
			enc.SetEscapeHTML(false)
			return c.eachEvent(cmd, lockbox.TenantID(args[0]), f, func(e *lockbox.Event) error { return enc.Encode(e) })
		},
	}
	cmd.Flags().Int64Var(&after, "after", 0, "only events with a greater index")
	return cmd
}
