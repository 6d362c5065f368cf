package watcher

import "testing"

func BenchmarkParseHostile(b *testing.B) {
	for _, d := range hostileDocs {
		data := d.build()
		b.Run(d.name+"/old", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				doc, err := parseDocumentGofeed(data)
				if err != nil || len(doc.Items) != d.items {
					b.Fatalf("%d items, %v", len(doc.Items), err)
				}
			}
		})
		b.Run(d.name+"/new", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				doc, err := ParseDocument(b.Context(), data)
				if err != nil || len(doc.Items) != d.items {
					b.Fatalf("%d items, %v", len(doc.Items), err)
				}
			}
		})
	}
}
