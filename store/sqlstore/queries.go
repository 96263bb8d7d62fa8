package sqlstore

import "github.com/uptrace/bun/dialect"

// queries holds a store's statements, with bun's ? placeholders. The
// comments list their arguments.
type queries struct {
	load        string // key, now
	loadVersion string // key, now
	// loadAndTouch moves the expiry of a live record and returns its data
	// and version; empty where the dialect has no UPDATE ... RETURNING.
	loadAndTouch string // expires_at, key, now
	save         string // key, data, expires_at, version
	// insert stores a record unless a live one exists: 0 affected rows
	// means one does.
	insert     string // key, data, expires_at, version, then now insertNows times
	insertNows int
	update     string // data, expires_at, new version, key, version, now
	deleteIf   string // key, version, now
	live       string // key, now: counts the live record
	delete     string // key
	touch      string // expires_at, key, now
	// deleteExpired removes at most limit expired rows.
	deleteExpired string // now, limit
	// scanFrom and scanAfter list the keys of live rows from a key on
	// (included, or not), in key order.
	scanFrom  string // key, now, limit
	scanAfter string // key, now, limit

	// The owner indexes: a row per entry.
	indexAdd     string // owner_key, id, deadline, added
	indexRemove  string // owner_key, ids (bun.List)
	indexList    string // owner_key, now
	indexExpired string // now, limit: removes entries past their deadline
	loadVersions string // keys (bun.List), now
}

// newQueries builds the statements for table on dialect d, whose
// identifiers q quotes.
func newQueries(d dialect.Name, q func(string) string, table string) queries {
	t, key, data, exp, ver := q(table), q("key"), q("data"), q("expires_at"), q("version")
	live := " WHERE " + key + " = ? AND " + exp + " > ?"
	qs := queries{
		load:        "SELECT " + data + " FROM " + t + live,
		loadVersion: "SELECT " + data + ", " + ver + " FROM " + t + live,
		update: "UPDATE " + t + " SET " + data + " = ?, " + exp + " = ?, " + ver + " = ?" +
			" WHERE " + key + " = ? AND " + ver + " = ? AND " + exp + " > ?",
		deleteIf:  "DELETE FROM " + t + " WHERE " + key + " = ? AND " + ver + " = ? AND " + exp + " > ?",
		live:      "SELECT COUNT(*) FROM " + t + live,
		delete:    "DELETE FROM " + t + " WHERE " + key + " = ?",
		touch:     "UPDATE " + t + " SET " + exp + " = ?" + live,
		scanFrom:  "SELECT " + key + " FROM " + t + " WHERE " + key + " >= ? AND " + exp + " > ? ORDER BY " + key + " LIMIT ?",
		scanAfter: "SELECT " + key + " FROM " + t + " WHERE " + key + " > ? AND " + exp + " > ? ORDER BY " + key + " LIMIT ?",
	}
	ot, owner, id, deadline, added := q(table+ownersSuffix), q("owner_key"), q("id"), q("deadline"), q("added")
	qs.indexRemove = "DELETE FROM " + ot + " WHERE " + owner + " = ? AND " + id + " IN (?)"
	qs.indexList = "SELECT " + id + ", " + deadline + ", " + added + " FROM " + ot + " WHERE " + owner + " = ? AND " + deadline + " > ?"
	qs.loadVersions = "SELECT " + key + ", " + data + ", " + ver + ", " + exp + " FROM " + t + " WHERE " + key + " IN (?) AND " + exp + " > ?"
	indexInsert := "INSERT INTO " + ot + " (" + owner + ", " + id + ", " + deadline + ", " + added + ") VALUES (?, ?, ?, ?)"
	insert := "INSERT INTO " + t + " (" + key + ", " + data + ", " + exp + ", " + ver + ") VALUES (?, ?, ?, ?)"
	if d == dialect.MySQL {
		qs.save = insert + " ON DUPLICATE KEY UPDATE " +
			data + " = VALUES(" + data + "), " + exp + " = VALUES(" + exp + "), " + ver + " = VALUES(" + ver + ")"
		// MySQL assigns from left to right, and later assignments see the
		// new values of earlier ones: expires_at, which the conditions
		// read, goes last. An expired row is replaced (2 affected rows),
		// a live one left unchanged (0 affected rows, unless the DSN sets
		// clientFoundRows).
		expired := func(col string) string {
			return col + " = IF(" + exp + " <= ?, VALUES(" + col + "), " + col + ")"
		}
		qs.insert = insert + " ON DUPLICATE KEY UPDATE " + expired(data) + ", " + expired(ver) + ", " + expired(exp)
		qs.insertNows = 3
		qs.deleteExpired = "DELETE FROM " + t + " WHERE " + exp + " <= ? ORDER BY " + exp + " LIMIT ?"
		qs.indexAdd = indexInsert + " ON DUPLICATE KEY UPDATE " + deadline + " = VALUES(" + deadline + "), " + added + " = VALUES(" + added + ")"
		qs.indexExpired = "DELETE FROM " + ot + " WHERE " + deadline + " <= ? ORDER BY " + deadline + " LIMIT ?"
		return qs
	}
	set := " ON CONFLICT (" + key + ") DO UPDATE SET " +
		data + " = EXCLUDED." + data + ", " + exp + " = EXCLUDED." + exp + ", " + ver + " = EXCLUDED." + ver
	qs.save = insert + set
	qs.insert = insert + set + " WHERE " + t + "." + exp + " <= ?"
	qs.insertNows = 1
	qs.loadAndTouch = qs.touch + " RETURNING " + data + ", " + ver
	qs.deleteExpired = "DELETE FROM " + t + " WHERE " + key + " IN (SELECT " + key +
		" FROM " + t + " WHERE " + exp + " <= ? LIMIT ?)"
	qs.indexAdd = indexInsert + " ON CONFLICT (" + owner + ", " + id + ") DO UPDATE SET " +
		deadline + " = EXCLUDED." + deadline + ", " + added + " = EXCLUDED." + added
	qs.indexExpired = "DELETE FROM " + ot + " WHERE (" + owner + ", " + id + ") IN (SELECT " + owner + ", " + id +
		" FROM " + ot + " WHERE " + deadline + " <= ? LIMIT ?)"
	return qs
}
