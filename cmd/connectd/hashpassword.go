package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/connectd/connectd/api"
)

// runHashPassword prints a line of a REST users file (name and bcrypt
// hash of the password read from stdin) or, with --token, makes a random
// bearer token, prints it on stderr and its tokens-file line on stdout.
func runHashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hash-password", flag.ContinueOnError)
	roleName := fs.String("role", "admin", "admin or read-only")
	token := fs.Bool("token", false, "make a random bearer token instead of hashing a password")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || strings.Contains(fs.Arg(0), ":") {
		return errors.New("hash-password: usage: connectd hash-password [--role admin|read-only] [--token] NAME (the password is read from stdin)")
	}
	role := api.RoleAdmin
	switch *roleName {
	case "admin":
	case "read-only":
		role = api.RoleReadOnly
	default:
		return fmt.Errorf("hash-password: --role %q is not admin or read-only", *roleName)
	}
	if *token {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		tok := base64.RawURLEncoding.EncodeToString(b)
		fmt.Fprintf(stderr, "token: %s\n", tok)
		fmt.Fprintln(stdout, api.HashToken(fs.Arg(0), tok, role))
		return nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pass := strings.TrimRight(line, "\r\n")
	if pass == "" {
		return errors.New("hash-password: no password on stdin")
	}
	out, err := api.HashPassword(fs.Arg(0), pass, role)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, out)
	return nil
}
