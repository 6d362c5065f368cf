package watcher

import "testing"

// BenchmarkParseHostile parses each hostile document with the parser before bounds (old) and
// with ParseDocument (new); build only builds the document, the floor of a process's peak
// memory. Run one at a time under /usr/bin/time -v for the peak resident size (BENCHMARKS.md).
func BenchmarkParseHostile(b *testing.B) {
	for _, d := range hostileDocs {
		parsers := []struct {
			name  string
			parse func([]byte) (Document, error)
		}{
			{"build", nil},
			{"old", parseDocumentGofeed},
			{"new", func(data []byte) (Document, error) { return ParseDocument(b.Context(), data) }},
		}
		for _, p := range parsers {
			b.Run(d.name+"/"+p.name, func(b *testing.B) {
				data := d.build()
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if p.parse == nil {
						data = d.build()
						continue
					}
					doc, err := p.parse(data)
					if err != nil || len(doc.Items) != d.items {
						b.Fatalf("parsed %d items, %v; want %d", len(doc.Items), err, d.items)
					}
				}
			})
		}
	}
}
