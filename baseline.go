package sessions

import "bytes"

// A session's change baseline (session.saved) is its payload as last
// loaded or saved. Without encryption it lies in the stored record itself,
// which nobody modifies. With encryption the store holds only ciphertext,
// so the baseline is a copy: the opened record, or the payload just
// written. In a request through Middleware that copy goes to a pooled
// buffer (an encodeBuffer), which the session hands back when it takes
// another baseline and when Middleware returns: a request then allocates
// no copy of its session, which for a large one costs more than the
// decryption (zeroed pages, and garbage collection).
//
// Two rules keep a pooled buffer from being read once it serves another
// request:
//   - Nothing but saved refers to it. The decoded session value could (a
//     codec may keep slices of its input), so baselines are pooled only
//     with the built-in codecs, whose decoded values never share the
//     input's memory: encoding/json and fxamacker/cbor copy strings, byte
//     slices and raw messages, and the Unmarshaler interfaces they call
//     (json.Unmarshaler, cbor.Unmarshaler, encoding.BinaryUnmarshaler,
//     encoding.TextUnmarshaler) must copy what they keep. A record's owner
//     is a string, a copy, and so is a forward's session ID.
//   - Every access to saved holds the session's lock, and so does the
//     hand-back when Middleware returns (close). A call after that (from a
//     goroutine the handler left running) finds no baseline: it saves the
//     value as it is, and where another request wrote meanwhile it fails
//     with ErrSessionChanged instead of merging.

// pooledBaselines reports whether a manager with codec c and keys may keep
// the baselines of its Middleware requests in pooled buffers.
func pooledBaselines(c Codec, keys sealer) bool {
	if keys == nil {
		return false
	}
	switch c.(type) {
	case cborCodec, jsonCodec:
		return true
	}
	return false
}

// pooling reports whether s keeps its baseline in pooled buffers.
func (s *session[T]) pooling() bool {
	return s.w != nil && !s.closed && s.m.pooled
}

// setSaved makes saved the baseline; buf is the pooled buffer saved lies
// in, or nil. The buffer of the previous baseline goes back to the pool.
func (s *session[T]) setSaved(saved []byte, buf *encodeBuffer) {
	if s.savedBuf != nil && s.savedBuf != buf {
		putBuffer(s.savedBuf)
	}
	s.saved, s.savedBuf, s.noBaseline = saved, buf, false
}

// keepWritten makes payload, just written, the baseline. plain is the
// record written, which payload ends; nil when it was sealed (the store
// holds ciphertext): the baseline is then a copy.
func (s *session[T]) keepWritten(plain, payload []byte) {
	switch {
	case plain != nil:
		s.setSaved(plain[len(plain)-len(payload):], nil)
	case s.pooling():
		buf := getBuffer()
		buf.Reset()
		buf.Write(payload)
		s.setSaved(buf.Bytes(), buf)
	default:
		s.setSaved(bytes.Clone(payload), nil)
	}
}

// close hands the baseline's buffer back to the pool when Middleware
// returns. When it cannot take the lock at once (a panic left it held, or
// a goroutine the handler left running holds it), the buffer is left to
// the garbage collector instead.
func (s *session[T]) close() {
	if !s.mu.TryLock() {
		return
	}
	defer s.mu.Unlock()
	s.closed = true
	if s.savedBuf != nil {
		putBuffer(s.savedBuf)
		s.saved, s.savedBuf, s.noBaseline = nil, nil, true
	}
}
