// Command newswatch watches news feeds, matches every new item against watch rules and publishes an
// alert to NATS for every match. See the README for the commands and the configuration.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kong"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// cli is the command line. Every flag has an environment twin NEWSWATCH_<FLAG>.
type cli struct {
	LogLevel string `name:"log-level" default:"info" enum:"debug,info,warn,error" help:"Minimum level of log lines: debug, info, warn or error."`

	Run         runCmd         `cmd:"" help:"Run the daemon."`
	Check       checkCmd       `cmd:"" help:"Validate the configuration, its schedules and its rules."`
	Config      configCmd      `cmd:"" help:"Work with the configuration file: config schema."`
	Test        testCmd        `cmd:"" help:"Dry run: match the items of feeds against the rules and print the matches."`
	Backtest    backtestCmd    `cmd:"" help:"Match the daemon's item archive against rules (--rule, --query or --all) and count the matches by rule, day and feed; publishes nothing. The server, credentials and stream default to the configuration's."`
	Tail        tailCmd        `cmd:"" help:"Print alerts as they arrive; --since replays stored ones first."`
	Status      statusCmd      `cmd:"" help:"Print every feed's health from the daemon's HTTP API, problems first."`
	Poll        pollCmd        `cmd:"" help:"Have the daemon poll feeds now, clearing their backoff."`
	Discover    discoverCmd    `cmd:"" help:"Find a site's feeds and sitemaps, check each, and print them as feeds: entries."`
	Import      importCmd      `cmd:"" help:"Bring a feed list in from another tool: import opml FILE."`
	Export      exportCmd      `cmd:"" help:"Give the configuration's feeds to another tool: export opml -c FILE."`
	Healthcheck healthcheckCmd `cmd:"" help:"Ask the readiness endpoint; exit 0 when ready (for container health checks)."`
	Version     versionCmd     `cmd:"" help:"Print the version."`
}

// env is what a command may use of the outside world, so that tests run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	logLevel       string
}

// exitError carries a command's exit status; its message, when any, has been printed already.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run parses args, runs the command and returns the process's exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var c cli
	exited := -1 // set when kong has printed help or an error and would exit
	parser, err := kong.New(&c,
		kong.Name("newswatch"),
		kong.Description("Watch news feeds, match new items against rules, publish alerts to NATS."),
		kong.DefaultEnvars("NEWSWATCH"),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exited = code }),
	)
	if err != nil {
		fmt.Fprintf(stderr, "newswatch: %v\n", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if exited >= 0 {
		return exited
	}
	if err != nil {
		fmt.Fprintf(stderr, "newswatch: %v\n", err)
		return 2
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, logLevel: c.LogLevel}
	err = kctx.Run(e)
	if err == nil {
		return 0
	}
	if ee, ok := errors.AsType[exitError](err); ok {
		return ee.code
	}
	fmt.Fprintf(stderr, "newswatch: %v\n", err)
	return 1
}
