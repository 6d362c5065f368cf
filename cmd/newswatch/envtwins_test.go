package main

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// sameMeaning are the environment twins that several commands share on purpose, with the same
// meaning in each though their help words it for the command.
var sameMeaning = map[string]bool{
	"NEWSWATCH_CONFIG": true, // the configuration file
	"NEWSWATCH_JSON":   true, // print JSON lines instead of text
}

// TestEnvironmentTwinsNotShared walks every command of the command line: an environment
// variable that is the twin of flags of two commands must mean the same in both (the same
// help), so that setting it for one command never changes another's behaviour unawares.
func TestEnvironmentTwinsNotShared(t *testing.T) {
	parser, err := kong.New(&cli{}, kong.Name("newswatch"), kong.DefaultEnvars("NEWSWATCH"), kong.Exit(func(int) {}))
	if err != nil {
		t.Fatal(err)
	}
	type use struct{ command, flag, help string }
	uses := map[string][]use{}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			for _, env := range f.Envs {
				uses[env] = append(uses[env], use{n.FullPath(), f.Name, f.Help})
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(parser.Model.Node)
	if len(uses) < 10 {
		t.Fatalf("found %d environment twins, want the command line's (more than 10)", len(uses))
	}
	for _, env := range slices.Sorted(maps.Keys(uses)) {
		us := uses[env]
		for _, u := range us[1:] {
			if u.help != us[0].help && !sameMeaning[env] {
				t.Errorf("$%s is the twin of %s --%s (%q) and of %s --%s (%q): give one of them its own",
					env, us[0].command, us[0].flag, us[0].help, u.command, u.flag, u.help)
			}
		}
	}
	for _, want := range []string{"NATS_URL", "NATS_CREDS"} {
		if _, ok := uses[want]; !ok {
			t.Errorf("no flag has the twin $%s of the nats CLI", want)
		}
	}
	for env, us := range uses {
		if strings.HasPrefix(env, "NATS_") {
			for _, u := range us {
				if u.flag != "server" && u.flag != "creds" {
					t.Errorf("$%s is the twin of %s --%s, want only --server or --creds", env, u.command, u.flag)
				}
			}
		}
	}
}
