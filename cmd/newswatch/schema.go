package main

import "github.com/newswatch/newswatch/config"

// configCmd groups the commands about the configuration file.
type configCmd struct {
	Schema configSchemaCmd `cmd:"" help:"Print the JSON Schema (draft 2020-12) of the configuration file, for editors."`
}

type configSchemaCmd struct{}

// Run prints the schema. An editor with yaml-language-server uses it from a comment on the first
// line of the file: # yaml-language-server: $schema=newswatch.schema.json
func (configSchemaCmd) Run(e *env) error {
	_, err := e.stdout.Write(config.Schema())
	return err
}
