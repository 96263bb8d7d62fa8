package sqlstore

import "github.com/uptrace/bun/dialect"

// queries holds a store's statements, with bun's ? placeholders.
type queries struct {
	load          string // key, now
	save          string // key, data, expires_at
	delete        string // key
	touch         string // expires_at, key, now
	loadAndTouch  string // expires_at, key, now; empty where unsupported
	deleteExpired string // now, limit
}

// newQueries builds the statements for table on dialect d, whose
// identifiers q quotes.
func newQueries(d dialect.Name, q func(string) string, table string) queries {
	t, key, data, exp := q(table), q("key"), q("data"), q("expires_at")
	qs := queries{
		load:   "SELECT " + data + " FROM " + t + " WHERE " + key + " = ? AND " + exp + " > ?",
		delete: "DELETE FROM " + t + " WHERE " + key + " = ?",
		touch:  "UPDATE " + t + " SET " + exp + " = ? WHERE " + key + " = ? AND " + exp + " > ?",
	}
	insert := "INSERT INTO " + t + " (" + key + ", " + data + ", " + exp + ") VALUES (?, ?, ?)"
	if d == dialect.MySQL {
		qs.save = insert + " ON DUPLICATE KEY UPDATE " +
			data + " = VALUES(" + data + "), " + exp + " = VALUES(" + exp + ")"
		qs.deleteExpired = "DELETE FROM " + t + " WHERE " + exp + " <= ? ORDER BY " + exp + " LIMIT ?"
		return qs
	}
	qs.save = insert + " ON CONFLICT (" + key + ") DO UPDATE SET " +
		data + " = EXCLUDED." + data + ", " + exp + " = EXCLUDED." + exp
	qs.loadAndTouch = qs.touch + " RETURNING " + data
	qs.deleteExpired = "DELETE FROM " + t + " WHERE " + key + " IN (SELECT " + key +
		" FROM " + t + " WHERE " + exp + " <= ? LIMIT ?)"
	return qs
}
