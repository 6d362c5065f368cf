package config_test

import (
	"errors"
	"fmt"

	"github.com/newswatch/newswatch/config"
)

func ExampleParse() {
	data := []byte(`feeds:
  - id: world
    url: https://example.org/world/rss.xml
    schedule: "*/2 * *"
feedz: []
`)
	_, err := config.Parse("newswatch.yaml", data)
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Println(e)
			fmt.Println(e.Excerpt())
		}
	}
	// Output:
	// newswatch.yaml:4:15: invalid schedule "*/2 * *": expected exactly 5 fields, found 3
	//         schedule: "*/2 * *"
	//                   ^
	// newswatch.yaml:5:1: unknown key "feedz"; did you mean "feeds"?
	//     feedz: []
	//     ^
}

func ExampleConfig_QueryError() {
	cfg, err := config.Parse("newswatch.yaml", []byte(`rules:
  - id: kursk
    query: 'kursk NEAR/0 ''курск'''
`))
	if err != nil {
		panic(err)
	}
	// The rule compiler found a problem at byte column 7 of the decoded query.
	e := cfg.QueryError(0, 7, "NEAR/n needs a number from 1 to 100")
	fmt.Println(e)
	fmt.Println(e.Excerpt())
	// Output:
	// newswatch.yaml:3:19: NEAR/n needs a number from 1 to 100
	//         query: 'kursk NEAR/0 ''курск'''
	//                       ^
}
