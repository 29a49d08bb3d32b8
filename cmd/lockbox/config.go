package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"time"
)

// credentialsFile is the JSON file that keeps one session per profile.
// It holds bearer secrets: it is written with mode 0600 in a directory
// created with mode 0700, and replaced atomically.
type credentialsFile struct {
	Profiles map[string]*profileCreds `json:"profiles"`
}

// profileCreds is a profile's session: the server that issued it, the
// bearer token, when it expires and who signed in.
type profileCreds struct {
	Server    string    `json:"server"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Email     string    `json:"email"`
}

var profilePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// validProfile checks a profile name.
func validProfile(name string) error {
	if !profilePattern.MatchString(name) {
		return usagef("profile %q: use up to 64 letters, digits, '.', '_' or '-'", name)
	}
	return nil
}

// credentialsPath is $LOCKBOX_CONFIG, or credentials.json in the lockbox
// directory of the user's configuration directory.
func (c *cli) credentialsPath() (string, error) {
	if p := c.getenv("LOCKBOX_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no place for the credentials file (%v): set LOCKBOX_CONFIG", err)
	}
	return filepath.Join(dir, "lockbox", "credentials.json"), nil
}

// loadCredentials reads the credentials file; a missing file is empty. It
// warns when the file is readable by others.
func (c *cli) loadCredentials() (*credentialsFile, error) {
	path, err := c.credentialsPath()
	if err != nil {
		return nil, err
	}
	creds := &credentialsFile{Profiles: map[string]*profileCreds{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return creds, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the credentials file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(c.stderr, "lockbox: warning: %s is readable by others (mode %#o); run: chmod 600 %s\n",
			path, fi.Mode().Perm(), shellQuote(path))
	}
	// The error of json.Unmarshal may quote the file; say where, not what.
	if err := json.Unmarshal(b, creds); err != nil {
		return nil, fmt.Errorf("the credentials file %s is not valid JSON: remove it and sign in again", path)
	}
	if creds.Profiles == nil {
		creds.Profiles = map[string]*profileCreds{}
	}
	return creds, nil
}

// saveCredentials writes the credentials file atomically: a private
// temporary file in the same directory, renamed over the old one.
func (c *cli) saveCredentials(creds *credentialsFile) error {
	path, err := c.credentialsPath()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the credentials directory: %w", err)
	}
	b, err := json.MarshalIndent(creds, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".credentials-*.json")
	if err != nil {
		return fmt.Errorf("writing the credentials file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, there is nothing to remove
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return fmt.Errorf("writing the credentials file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing the credentials file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing the credentials file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the credentials file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing the credentials file: %w", err)
	}
	return nil
}
