package memstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sessionkit/sessions/store/memstore"
)

func Example() {
	s, err := memstore.New(memstore.WithMaxEntries(100_000))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx := context.Background()
	_ = s.Save(ctx, "session:abc", []byte("data"), time.Now().Add(time.Hour))
	data, found, err := s.Load(ctx, "session:abc")
	fmt.Println(string(data), found, err)
	// Output: data true <nil>
}
