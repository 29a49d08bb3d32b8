package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lockbox-dev/lockbox"
)

// durationFlag is a flag holding a lockbox.Duration ("90m", "8h").
type durationFlag struct{ d *lockbox.Duration }

var _ pflag.Value = durationFlag{}

func (f durationFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := lockbox.ParseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func (durationFlag) Type() string { return "duration" }

// durationVar defines a duration flag.
func durationVar(fs *pflag.FlagSet, d *lockbox.Duration, name, usage string) {
	fs.Var(durationFlag{d}, name, usage)
}

// pageFlags defines --page-size and --page-token.
func pageFlags(cmd *cobra.Command, p *lockbox.Page) {
	cmd.Flags().IntVar(&p.Size, "page-size", 0, "items per page (server default 50, at most 1000)")
	cmd.Flags().StringVar(&p.Token, "page-token", "", "page to show, from a previous page's next page token")
}

// changed reports whether the flag was given on the command line.
func changed(cmd *cobra.Command, name string) bool { return cmd.Flags().Changed(name) }

// nonEmpty drops empty strings, so "--webhook=" clears a list.
func nonEmpty(ss []string) []string {
	out := []string{}
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// required marks flags as required.
func required(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		if err := cmd.MarkFlagRequired(n); err != nil {
			panic(err) // a typo in a flag name
		}
	}
}
