// Command newswatch-slack is the Slack bridge of newswatch: it reads the alerts of the alert
// stream through a durable JetStream consumer and posts each to the Slack channels its rule and
// feed are routed to, once. See notifier/slack for how it delivers, and the README for its use.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kong"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// cli is the command line. Every flag has an environment twin NEWSWATCH_SLACK_<FLAG>.
type cli struct {
	LogLevel string `name:"log-level" default:"info" enum:"debug,info,warn,error" help:"Minimum level of log lines: debug, info, warn or error."`

	Run     runCmd     `cmd:"" default:"withargs" help:"Run the bridge (the default command)."`
	Version versionCmd `cmd:"" help:"Print the version."`
}

// env is what a command may use of the outside world, so that tests run commands in-process.
type env struct {
	stdout, stderr io.Writer
	logLevel       string
}

// exitError carries a command's exit status; its message, when any, has been logged already.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run parses args, runs the command and returns the process's exit status.
func run(args []string, stdout, stderr io.Writer) int {
	var c cli
	exited := -1 // set when kong has printed help or an error and would exit
	parser, err := kong.New(&c,
		kong.Name("newswatch-slack"),
		kong.Description("Post newswatch alerts from the NATS alert stream to Slack channels, each once."),
		kong.DefaultEnvars("NEWSWATCH_SLACK"),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exited = code }),
	)
	if err != nil {
		fmt.Fprintf(stderr, "newswatch-slack: %v\n", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if exited >= 0 {
		return exited
	}
	if err != nil {
		fmt.Fprintf(stderr, "newswatch-slack: %v\n", err)
		return 2
	}
	err = kctx.Run(&env{stdout: stdout, stderr: stderr, logLevel: c.LogLevel})
	if err == nil {
		return 0
	}
	if ee, ok := errors.AsType[exitError](err); ok {
		return ee.code
	}
	fmt.Fprintf(stderr, "newswatch-slack: %v\n", err)
	return 1
}
