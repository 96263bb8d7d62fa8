package fsstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/sessionkit/sessions/store/fsstore"
)

func Example() {
	dir, err := os.MkdirTemp("", "sessions")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := fsstore.New(dir, fsstore.WithCleanupInterval(10*time.Minute))
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
