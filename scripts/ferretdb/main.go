// Command ferretdb runs FerretDB v1 with the SQLite handler: a MongoDB
// wire-protocol server for the tests, built into a local image by
// scripts/testimages.sh where the official mongo image cannot be pulled.
//
// FerretDB's own command needs a version file generated at build time, so
// this embeds the ferretdb package instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "0.0.0.0:27017", "TCP address to listen on")
	dir := flag.String("dir", "/data/db", "directory for the SQLite databases")
	flag.Parse()

	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Handler:  "sqlite",
		// The SQLite URL must be a file: URI naming a directory, ending in "/".
		SQLiteURL: "file:" + *dir + "/",
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// New has already bound the listener; the official mongod prints this
	// line when it accepts connections, and the tests wait for it.
	fmt.Printf("Waiting for connections on %s (FerretDB, SQLite in %s)\n", *listen, *dir)

	if err := f.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
