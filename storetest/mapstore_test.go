package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sessionkit/sessions/store"
)

// mapStore is a minimal correct store, with optional bugs to show that Run
// catches them.
type mapStore struct {
	bug string // one of the bugs below, or "" for none
	// noLoadTouch makes LoadVersion move no expiry and report Touched ==
	// false, as stores that cannot touch in the same round trip do. It is
	// not a bug.
	noLoadTouch bool
	// backendTTL makes DeleteExpired report 0: the records it removes
	// count as removed by a TTL of the backend, as a server with its own
	// expiry does. It is not a bug.
	backendTTL bool
	// skew moves the instant a stored record expires on reads, within
	// the slack Run allows a server's clock and round trips. It is not a
	// bug.
	skew time.Duration
	// staleCAS makes SaveIf with a record's version still match it for
	// staleCAS after it expired, within the slack Run allows (memcached
	// counts expiry in whole seconds). It is not a bug.
	staleCAS time.Duration
	// writerZeroFirst makes the racing SaveIfs of the race checks land in
	// writer order, so writer 0 wins. It is not a bug.
	writerZeroFirst bool

	mu      sync.Mutex
	m       map[string]record
	last    store.Version            // the last version given out
	deleted map[string]store.Version // for bugSaveIfResurrects
	writes  map[string]store.Version // for bugVersionReused
	gen     uint64                   // the generation (Clear)
	gens    map[store.Version]uint64 // the generation of each version given out
	cleared map[string]store.Version // for bugClearResurrects
	indexes map[string]map[string]store.IndexEntry
}

type record struct {
	data      []byte
	expiresAt time.Time // the zero time never expires (bugPastNeverExpires)
	version   store.Version
}

// The bugs a mapStore can have.
const (
	bugIgnoresExpiry  = "ignoresExpiry"  // Load returns expired records
	bugNoOverwrite    = "noOverwrite"    // Save keeps the first record
	bugNoDelete       = "noDelete"       // Delete does nothing
	bugAliasSave      = "aliasSave"      // Save keeps the caller's slice
	bugAliasLoad      = "aliasLoad"      // Load returns the stored slice
	bugIgnoresCtx     = "ignoresCtx"     // no call looks at ctx
	bugFoldsCase      = "foldsCase"      // keys are case-insensitive
	bugEmptyIsMissing = "emptyIsMissing" // an empty record is not found
	bugTouchRevives   = "touchRevives"   // Touch revives expired records

	bugAliasLoadAndTouch = "aliasLoadAndTouch" // LoadAndTouch returns the stored slice
	bugPastNeverExpires  = "pastNeverExpires"  // a past deadline is stored as "never expires"
	bugDeleteExpiredLive = "deleteExpiredLive" // DeleteExpired deletes live records too
	bugExpiresLate       = "expiresLate"       // records expire a second after their deadline
	bugPastTouchMissing  = "pastTouchMissing"  // LoadAndTouch with a past deadline reports no record

	bugSaveIfIgnoresVersion = "saveIfIgnoresVersion" // SaveIf always writes
	bugSaveIfResurrects     = "saveIfResurrects"     // SaveIf with a deleted record's version writes it back
	bugSaveIfIgnoresExpiry  = "saveIfIgnoresExpiry"  // SaveIf compares with expired records
	bugSaveKeepsVersion     = "saveKeepsVersion"     // Save keeps the version of the record it replaces
	bugVersionReused        = "versionReused"        // versions count the writes since the key was created
	bugTouchChangesVersion  = "touchChangesVersion"  // every touch gives a new version
	bugTouchedLies          = "touchedLies"          // LoadVersion reports Touched but moves nothing
	bugTouchUnreported      = "touchUnreported"      // LoadVersion moves the expiry but reports Touched == false
	bugRacySaveIf           = "racySaveIf"           // SaveIf checks and writes in two critical sections
	bugTornSave             = "tornSave"             // Save of a record of the same size writes it in two halves
	bugFarPastNeverExpires  = "farPastNeverExpires"  // a deadline over an hour ago is stored as "never expires"

	bugScanStopsAtLimit    = "scanStopsAtLimit"    // Scan ends the scan after its first full batch
	bugScanIgnoresPrefix   = "scanIgnoresPrefix"   // Scan returns every key
	bugScanPrefixAsPattern = "scanPrefixAsPattern" // Scan reads '*' in the prefix as any bytes

	bugClearKeepsRecords   = "clearKeepsRecords"   // Clear leaves the records
	bugClearResurrects     = "clearResurrects"     // SaveIf with a version from before Clear brings its record back
	bugClearSameGeneration = "clearSameGeneration" // SameGeneration is always true

	bugIndexNoReplace    = "indexNoReplace"    // IndexAdd keeps the entry an ID has
	bugIndexListsExpired = "indexListsExpired" // IndexList returns entries past their deadline
	bugIndexRacyAdd      = "indexRacyAdd"      // IndexAdd copies the index and writes it back in two critical sections
	bugIndexInRecords    = "indexInRecords"    // Delete of a record deletes the index under its key too
	bugIndexListCap      = "indexListCap"      // IndexList returns at most 1,000 entries
	bugAddListOmitsNew   = "addListOmitsNew"   // IndexAddList lists the index as it was before the add
	bugAddListOnlyNew    = "addListOnlyNew"    // IndexAddList lists only the new entry
	bugAddListRacy       = "addListRacy"       // IndexAddList lists and adds in two critical sections
	bugMultiSkipsMissing = "multiSkipsMissing" // LoadVersions leaves out the records it does not find
	bugMultiAlias        = "multiAlias"        // LoadVersions returns the stored slices
	bugMultiNoExpires    = "multiNoExpires"    // LoadVersions does not report expiries, though a touched LoadVersion does
	bugExpiresOld        = "expiresOld"        // a touched LoadVersion reports the expiry from before the touch
)

func newMapStore(bug string) *mapStore {
	return &mapStore{
		bug:     bug,
		m:       make(map[string]record),
		deleted: make(map[string]store.Version),
		writes:  make(map[string]store.Version),
		gens:    make(map[store.Version]uint64),
		cleared: make(map[string]store.Version),
		indexes: make(map[string]map[string]store.IndexEntry),
	}
}

func (s *mapStore) begin(ctx context.Context, key string) (string, error) {
	if err := ctx.Err(); err != nil && s.bug != bugIgnoresCtx {
		return "", fmt.Errorf("mapstore: %w", err)
	}
	if s.bug == bugFoldsCase {
		key = strings.ToLower(key)
	}
	s.mu.Lock()
	return key, nil
}

// expired reports whether a record with deadline exp has expired.
func (s *mapStore) expired(exp time.Time) bool {
	switch {
	case s.bug == bugIgnoresExpiry, (s.bug == bugPastNeverExpires || s.bug == bugFarPastNeverExpires) && exp.IsZero():
		return false
	case s.bug == bugExpiresLate:
		exp = exp.Add(time.Second)
	}
	return !time.Now().Before(exp.Add(s.skew))
}

func (s *mapStore) live(key string) (record, bool) {
	r, ok := s.m[key]
	if !ok || s.expired(r.expiresAt) {
		return record{}, false
	}
	if len(r.data) == 0 && s.bug == bugEmptyIsMissing {
		return record{}, false
	}
	return r, true
}

func (s *mapStore) out(data []byte) []byte {
	if s.bug == bugAliasLoad {
		return data
	}
	return append([]byte(nil), data...)
}

// newVersion returns a version key never had. The caller holds s.mu.
func (s *mapStore) newVersion(key string) store.Version {
	if s.bug == bugVersionReused {
		s.writes[key]++
		return s.writes[key]
	}
	s.last++
	s.gens[s.last] = s.gen
	return s.last
}

// neverExpires reports whether the bug bugFarPastNeverExpires stores a
// record with deadline expiresAt as one that never expires.
func (s *mapStore) neverExpires(expiresAt time.Time) bool {
	return s.bug == bugFarPastNeverExpires && time.Since(expiresAt) > time.Hour
}

// put stores a record, or removes it when expiresAt has passed, and
// returns its version. The caller holds s.mu.
func (s *mapStore) put(key string, data []byte, expiresAt time.Time, v store.Version) store.Version {
	if s.bug != bugAliasSave {
		data = append([]byte(nil), data...)
	}
	if s.neverExpires(expiresAt) {
		expiresAt = time.Time{}
	} else if !time.Now().Before(expiresAt) {
		if s.bug != bugPastNeverExpires {
			s.remove(key)
			return 0
		}
		expiresAt = time.Time{}
	}
	s.m[key] = record{data, expiresAt, v}
	return v
}

// remove deletes the record under key. The caller holds s.mu.
func (s *mapStore) remove(key string) {
	if r, ok := s.m[key]; ok {
		s.deleted[key] = r.version
	}
	delete(s.m, key)
	delete(s.writes, key)
}

// touch moves the expiry of a live record and returns it as it was. The
// caller holds s.mu.
func (s *mapStore) touch(key string, expiresAt time.Time) (record, bool) {
	r, ok := s.live(key)
	if s.bug == bugTouchRevives {
		r, ok = s.m[key]
	}
	if !ok {
		return record{}, false
	}
	v := r.version
	if s.bug == bugTouchChangesVersion {
		v = s.newVersion(key)
	}
	if s.neverExpires(expiresAt) {
		s.m[key] = record{r.data, time.Time{}, v}
	} else if !time.Now().Before(expiresAt) {
		s.remove(key)
	} else {
		s.m[key] = record{r.data, expiresAt, v}
	}
	return r, true
}

func (s *mapStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	key, err := s.begin(ctx, key)
	if err != nil {
		return nil, false, err
	}
	defer s.mu.Unlock()
	r, ok := s.live(key)
	return s.out(r.data), ok, nil
}

func (s *mapStore) Save(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	key, err := s.begin(ctx, key)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	old, ok := s.m[key]
	if ok && s.bug == bugNoOverwrite {
		return nil
	}
	v := s.newVersion(key)
	if ok && s.bug == bugSaveKeepsVersion {
		v = old.version
	}
	if ok && s.bug == bugTornSave && len(old.data) == len(data) {
		// The first half lands, and others may read it, before the rest.
		half := append(append([]byte(nil), data[:len(data)/2]...), old.data[len(data)/2:]...)
		s.m[key] = record{half, old.expiresAt, old.version}
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
	}
	s.put(key, data, expiresAt, v)
	return nil
}

func (s *mapStore) Delete(ctx context.Context, key string) error {
	key, err := s.begin(ctx, key)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if s.bug != bugNoDelete {
		s.remove(key)
	}
	if s.bug == bugIndexInRecords {
		delete(s.indexes, key)
	}
	return nil
}

func (s *mapStore) Touch(ctx context.Context, key string, expiresAt time.Time) error {
	key, err := s.begin(ctx, key)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.touch(key, expiresAt)
	return nil
}

func (s *mapStore) LoadAndTouch(ctx context.Context, key string, expiresAt time.Time) ([]byte, bool, error) {
	key, err := s.begin(ctx, key)
	if err != nil {
		return nil, false, err
	}
	defer s.mu.Unlock()
	r, ok := s.touch(key, expiresAt)
	switch {
	case !ok:
		return nil, false, nil
	case s.bug == bugPastTouchMissing && !time.Now().Before(expiresAt):
		return nil, false, nil
	case s.bug == bugAliasLoadAndTouch:
		return r.data, true, nil
	}
	return s.out(r.data), true, nil
}

func (s *mapStore) DeleteExpired(ctx context.Context) (int, error) {
	_, err := s.begin(ctx, "")
	if err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := 0
	for k, r := range s.m {
		if s.expired(r.expiresAt) || s.bug == bugDeleteExpiredLive {
			s.remove(k)
			n++
		}
	}
	if s.backendTTL {
		return 0, nil
	}
	return n, nil
}

func (s *mapStore) LoadVersion(ctx context.Context, key string, touch time.Time) (store.Loaded, error) {
	key, err := s.begin(ctx, key)
	if err != nil {
		return store.Loaded{}, err
	}
	defer s.mu.Unlock()
	var (
		r       record
		ok      bool
		touched bool
	)
	switch {
	case touch.IsZero() || s.noLoadTouch:
		r, ok = s.live(key)
	case s.bug == bugTouchedLies:
		r, ok = s.live(key)
		touched = ok
	default:
		r, ok = s.touch(key, touch)
		touched = ok && s.bug != bugTouchUnreported
	}
	if !ok {
		return store.Loaded{}, nil
	}
	l := store.Loaded{Data: s.out(r.data), Version: r.version, Touched: touched, Expires: r.expiresAt}
	if touched && s.bug != bugExpiresOld {
		l.Expires = touch
	}
	return l, nil
}

func (s *mapStore) SaveIf(ctx context.Context, key string, data []byte, expiresAt time.Time, v store.Version) (store.Version, error) {
	if s.writerZeroFirst && strings.HasPrefix(string(data), "writer ") && string(data) != "writer 0" {
		time.Sleep(time.Millisecond)
	}
	key, err := s.begin(ctx, key)
	if err != nil {
		return 0, err
	}
	r, ok := s.live(key)
	if stale, found := s.m[key]; !ok && found && v != 0 && time.Since(stale.expiresAt) < s.staleCAS {
		r = stale
	}
	if s.bug == bugSaveIfIgnoresExpiry {
		r, ok = s.m[key]
	}
	match := r.version == v // the zero version matches no record
	switch s.bug {
	case bugSaveIfIgnoresVersion:
		match = true
	case bugSaveIfResurrects:
		match = match || !ok && v == s.deleted[key]
	case bugClearResurrects:
		match = match || !ok && v != 0 && v == s.cleared[key]
	case bugRacySaveIf:
		// Let the other writers check too before writing.
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	if !match {
		return 0, fmt.Errorf("mapstore: save %q: %w", key, store.ErrConflict)
	}
	return s.put(key, data, expiresAt, s.newVersion(key)), nil
}

// Scan lists the live keys with prefix in key order; the cursor is "k"
// and the last key returned.
func (s *mapStore) Scan(ctx context.Context, prefix, cursor string, limit int) ([]string, string, error) {
	if _, err := s.begin(ctx, ""); err != nil {
		return nil, "", err
	}
	defer s.mu.Unlock()
	after, hasAfter := strings.CutPrefix(cursor, "k")
	var keys []string
	for k := range s.m {
		match := strings.HasPrefix(k, prefix)
		if s.bug == bugScanPrefixAsPattern {
			p, _, _ := strings.Cut(prefix, "*")
			match = strings.HasPrefix(k, p)
		}
		if _, live := s.live(k); live && (match || s.bug == bugScanIgnoresPrefix) && (!hasAfter || k > after) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) <= limit {
		return keys, "", nil
	}
	keys = keys[:limit]
	if s.bug == bugScanStopsAtLimit {
		return keys, "", nil
	}
	return keys, "k" + keys[limit-1], nil
}

// Clear ends every record (store.Clearer): they go, and the generation
// moves on.
func (s *mapStore) Clear(ctx context.Context) error {
	if _, err := s.begin(ctx, ""); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.gen++
	if s.bug == bugClearKeepsRecords {
		return nil
	}
	for k, r := range s.m {
		s.cleared[k] = r.version
		s.remove(k)
	}
	return nil
}

// SameGeneration reports whether no Clear came between the writes of
// versions a and b (store.Clearer).
func (s *mapStore) SameGeneration(a, b store.Version) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bug == bugClearSameGeneration || s.gens[a] == s.gens[b]
}

// IndexAdd adds e to the index under key.
func (s *mapStore) IndexAdd(ctx context.Context, key string, e store.IndexEntry) error {
	if _, err := s.begin(ctx, ""); err != nil {
		return err
	}
	defer s.mu.Unlock()
	s.indexAdd(key, e)
	return nil
}

// indexAdd adds e to the index under key, with s.mu held.
func (s *mapStore) indexAdd(key string, e store.IndexEntry) {
	idx := s.indexes[key]
	if s.bug == bugIndexRacyAdd {
		// Copy, let the others copy too, then write the copy back.
		idx = maps.Clone(idx)
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
	}
	if idx == nil {
		idx = make(map[string]store.IndexEntry)
	}
	if _, ok := idx[e.ID]; !ok || s.bug != bugIndexNoReplace {
		idx[e.ID] = e
	}
	s.indexes[key] = idx
}

// IndexAddList adds e to the index under key and lists the index, in one
// critical section: always listed.
func (s *mapStore) IndexAddList(ctx context.Context, key string, e store.IndexEntry) ([]store.IndexEntry, bool, error) {
	if _, err := s.begin(ctx, ""); err != nil {
		return nil, false, err
	}
	defer s.mu.Unlock()
	switch s.bug {
	case bugAddListOnlyNew:
		s.indexAdd(key, e)
		return []store.IndexEntry{e}, true, nil
	case bugAddListOmitsNew:
		list := s.liveIndex(key)
		s.indexAdd(key, e)
		return list, true, nil
	case bugAddListRacy:
		// List, let the others list too, then add and list the new
		// entry with the others: right without a race.
		list := slices.DeleteFunc(s.liveIndex(key), func(l store.IndexEntry) bool { return l.ID == e.ID })
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
		s.indexAdd(key, e)
		if time.Now().Before(e.Deadline) {
			list = append(list, e)
		}
		return list, true, nil
	}
	s.indexAdd(key, e)
	return s.liveIndex(key), true, nil
}

// IndexRemove removes ids from the index under key.
func (s *mapStore) IndexRemove(ctx context.Context, key string, ids ...string) error {
	if _, err := s.begin(ctx, ""); err != nil {
		return err
	}
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.indexes[key], id)
	}
	return nil
}

// IndexList returns the live entries of the index under key.
func (s *mapStore) IndexList(ctx context.Context, key string) ([]store.IndexEntry, error) {
	if _, err := s.begin(ctx, ""); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return s.liveIndex(key), nil
}

// liveIndex returns the live entries of the index under key, and forgets
// the others, with s.mu held.
func (s *mapStore) liveIndex(key string) []store.IndexEntry {
	var list []store.IndexEntry
	for id, e := range s.indexes[key] {
		switch {
		case s.bug == bugIndexListCap && len(list) == 1000:
			return list
		case !time.Now().Before(e.Deadline) && s.bug != bugIndexListsExpired:
			delete(s.indexes[key], id)
		default:
			list = append(list, e)
		}
	}
	return list
}

// LoadVersions returns the records under keys, as LoadVersion does.
func (s *mapStore) LoadVersions(ctx context.Context, keys []string) ([]store.Loaded, error) {
	if _, err := s.begin(ctx, ""); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]store.Loaded, 0, len(keys))
	for _, key := range keys {
		if s.bug == bugFoldsCase {
			key = strings.ToLower(key)
		}
		r, ok := s.live(key)
		switch {
		case !ok && s.bug == bugMultiSkipsMissing:
		case !ok:
			out = append(out, store.Loaded{})
		case s.bug == bugMultiAlias:
			out = append(out, store.Loaded{Data: r.data, Version: r.version, Expires: r.expiresAt})
		case s.bug == bugMultiNoExpires:
			out = append(out, store.Loaded{Data: s.out(r.data), Version: r.version})
		default:
			out = append(out, store.Loaded{Data: s.out(r.data), Version: r.version, Expires: r.expiresAt})
		}
	}
	return out, nil
}
