package main

import (
	"encoding/json"
	"testing"

	"github.com/newswatch/newswatch/config"
)

// TestConfigSchema: `newswatch config schema` prints the schema of the configuration file as
// JSON, draft 2020-12, and exits 0. What the schema says is tested in package config.
func TestConfigSchema(t *testing.T) {
	code, out, errOut := runCLI(t, "", "config", "schema")
	if code != 0 {
		t.Fatalf("config schema: exit %d, want 0\n%s", code, errOut)
	}
	if out != string(config.Schema()) {
		t.Errorf("config schema printed something other than config.Schema():\n%.500s", out)
	}
	var doc struct {
		Schema     string         `json:"$schema"`
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("config schema printed no JSON: %v", err)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema %q, want draft 2020-12", doc.Schema)
	}
	for _, key := range []string{"nats", "http", "defaults", "feeds", "lists", "rules"} {
		if _, ok := doc.Properties[key]; !ok {
			t.Errorf("the schema lacks the section %q", key)
		}
	}
}
