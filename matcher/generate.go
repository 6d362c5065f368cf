package matcher

//go:generate go run gen_fold.go
