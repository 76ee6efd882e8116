package discretion

// A large group's roster sent once per server, then named by its digest (Group.RosterDigest).
//
// A roster of thousands is most of a request, and a server that kept it from an earlier call needs only
// its digest: SHA-256 of the discretion.v1.Roster of the participants, written deterministically. A
// server that does not hold it answers FAILED_PRECONDITION naming the digest, and the client sends the
// request again with the participants beside it, which the server then keeps: the caller never sees the
// exchange. Each replica (and each worker process) behind one address fills its own store on its first
// call.
//
// Digests are computed once per call, not kept between calls: the caller's messages stay theirs and may
// be changed in place between calls (a participant renamed, one appended into spare capacity), so a
// slice seen before may hold another roster now, and a stale digest sent alone would have the server
// decide with the old roster. Writing the roster for its digest costs about what sending it by value
// would: the bytes saved are the network's and the server's.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	v1 "github.com/discretion/discretion/clients/go/discretionv1"
)

// RostersByReferenceFrom is how many participants a group has before its roster goes by digest: a
// smaller roster's bytes cost less than the second round trip a server without it would need.
const RostersByReferenceFrom = 100

// WithRostersByReferenceFrom sends a group of n participants or more by its roster's digest, and the
// roster itself only to a server that says it lacks it (default RostersByReferenceFrom); 0 sends every
// roster whole.
func WithRostersByReferenceFrom(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("discretion: WithRostersByReferenceFrom(%d): expected a number of participants, or 0 for none", n)
		}
		o.rostersFrom = n
		return nil
	}
}

// RosterDigest is the digest a server knows these participants by, as Group.RosterDigest carries it:
// "sha256:" and the lowercase hex SHA-256 of the discretion.v1.Roster holding them, written
// deterministically and without fields this proto does not define (no server counts those).
func RosterDigest(participants []*v1.Person) (string, error) {
	roster := &v1.Roster{Participants: participants}
	for i, person := range participants {
		if len(person.ProtoReflect().GetUnknown()) > 0 {
			// Copied, not changed: the caller's people keep what they carry.
			roster.Participants = append([]*v1.Person(nil), participants...)
			for j, unread := range roster.Participants[i:] {
				if len(unread.ProtoReflect().GetUnknown()) > 0 {
					copied := proto.Clone(unread).(*v1.Person)
					copied.ProtoReflect().SetUnknown(nil)
					roster.Participants[i+j] = copied
				}
			}
			break
		}
	}
	written, err := proto.MarshalOptions{Deterministic: true}.Marshal(roster)
	if err != nil {
		return "", fmt.Errorf("discretion: RosterDigest: %w", err)
	}
	sum := sha256.Sum256(written)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// rosterRefs is one call's way of writing its groups: which go by digest, and which digests go with
// their participants. Both attempts of a call share it, so a roster is digested once per call however
// many checks of a batch carry it.
type rosterRefs struct {
	from    int
	send    map[string]bool      // digests the server said it lacks: written beside their participants
	alone   map[string]bool      // digests written without their participants
	digests map[rosterKey]string // "" for a roster that cannot be written: it goes by value
}

// rosterKey is a participants slice by identity: within one call the caller's roster does not change
// (changing it while a call reads it is a data race), so the same slice is the same roster.
type rosterKey struct {
	first **v1.Person
	count int
}

func (c *Client) rosterRefs() *rosterRefs {
	if c.rostersFrom == 0 {
		return nil
	}
	return &rosterRefs{from: c.rostersFrom, alone: map[string]bool{}, digests: map[rosterKey]string{}}
}

// group is the group to send: itself when small, by value, or when the caller wrote a digest (theirs to
// keep in step), else a shallow copy carrying the digest, and the participants only where the server
// said it lacks them.
func (r *rosterRefs) group(group *v1.Group) *v1.Group {
	participants := group.GetParticipants()
	if r == nil || group.GetRosterDigest() != "" || len(participants) < r.from || len(participants) == 0 {
		return group
	}
	key := rosterKey{&participants[0], len(participants)}
	digest, done := r.digests[key]
	if !done {
		digest, _ = RosterDigest(participants) // unwritable: sent by value, for the server to refuse as such
		r.digests[key] = digest
	}
	if digest == "" {
		return group
	}
	copied := shallow(group)
	copied.RosterDigest = digest
	if !r.send[digest] {
		copied.Participants = nil
		r.alone[digest] = true
	}
	return copied
}

// again is how to write the call's second attempt, when the server lacks rosters this call sent by
// digest alone; nil when it names none of them, as sending them again would change nothing.
func (r *rosterRefs) again(missing []string) *rosterRefs {
	if r == nil {
		return nil
	}
	send := map[string]bool{}
	for _, digest := range missing {
		if r.alone[digest] {
			send[digest] = true
		}
	}
	if len(send) == 0 {
		return nil
	}
	return &rosterRefs{from: r.from, send: send, alone: map[string]bool{}, digests: r.digests}
}

// withRoster is message with its group as refs write it: a shallow copy when that changes the group,
// so the caller's message is not changed and nothing else in it copied.
func withRoster[M interface {
	proto.Message
	GetGroup() *v1.Group
}](message M, refs *rosterRefs) M {
	group := refs.group(message.GetGroup())
	if group == message.GetGroup() {
		return message
	}
	copied := shallow(message)
	reflected := copied.ProtoReflect()
	reflected.Set(reflected.Descriptor().Fields().ByName("group"), protoreflect.ValueOfMessage(group.ProtoReflect()))
	return copied
}

// shallow copies message's fields, not what they hold: a copy's repeated fields and messages are the
// original's.
func shallow[M proto.Message](message M) M {
	from := message.ProtoReflect()
	into := from.New()
	from.Range(func(field protoreflect.FieldDescriptor, value protoreflect.Value) bool {
		into.Set(field, value)
		return true
	})
	into.SetUnknown(from.GetUnknown())
	return into.Interface().(M)
}
