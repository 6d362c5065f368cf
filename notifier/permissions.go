package notifier

import (
	"fmt"
	"slices"
	"strings"
)

// Role is one of the users of the embedded server, each with its credentials file.
type Role string

// The roles of the embedded server.
const (
	// RoleDaemon is the daemon's own connection: its streams, its bucket, the JetStream API.
	RoleDaemon Role = "daemon"
	// RoleBridge is the Slack bridge: its durable consumer of the alert stream, its ledger bucket
	// and its dead-letter stream; no publish on alert or poll subjects.
	RoleBridge Role = "bridge"
	// RoleSubscriber reads: the alert and health subjects, and consumers of the alert stream.
	RoleSubscriber Role = "subscriber"
)

// Roles are the roles in the order their files are written and listed.
var Roles = []Role{RoleDaemon, RoleBridge, RoleSubscriber}

// The Slack bridge's resources under their default names (see notifier/slack), which the bridge
// role may create and use: its durable consumer, its ledger bucket <durable>_posted, and its
// dead-letter stream on <prefix>.slack.dead.>.
const (
	BridgeDurable = "newswatch_slack"
	bridgeBucket  = BridgeDurable + "_posted"
)

// daemonInboxPrefix is the inbox prefix of the daemon's connection, apart from the "_INBOX."
// of every other client, so that no other role can read the replies the daemon gets (feed state,
// poll jobs).
const daemonInboxPrefix = "_INBOX_newswatch"

// Permissions are the subjects a role may publish and subscribe to; a subject that Deny matches
// is refused even when Allow matches it.
type Permissions struct {
	PubAllow, PubDeny []string
	SubAllow          []string
}

// RolePermissions are role's permissions for a daemon with the subject prefix and alert stream
// of cfg, and the Slack bridge under its default names. They are the embedded server's, and what
// the README's authorization blocks for an external server say.
func RolePermissions(cfg Config, role Role) (Permissions, error) {
	if err := validPrefix(cfg.SubjectPrefix); err != nil {
		return Permissions{}, fmt.Errorf("%w: SubjectPrefix: %v", ErrInvalidConfig, err)
	}
	if !validStreamName(cfg.AlertStream) {
		return Permissions{}, fmt.Errorf("%w: AlertStream: %q is not a stream name", ErrInvalidConfig, cfg.AlertStream)
	}
	if !slices.Contains(Roles, role) {
		return Permissions{}, fmt.Errorf("%w: no role %q", ErrInvalidConfig, role)
	}
	return rolePermissions(newNames(cfg.withDefaults()), role), nil
}

// rolePermissions are the permissions of role, one of Roles; any other has none.
func rolePermissions(n names, role Role) Permissions {
	alerts := n.alertStream
	api := "$JS.API."
	switch role {
	case RoleDaemon:
		return Permissions{
			PubAllow: []string{
				n.prefix + ".alert.>", n.prefix + ".poll.>", n.prefix + ".feed.>", n.prefix + ".item.>",
				n.prefix + ".story.>", n.prefix + ".digest.>", n.prefix + ".spike.>",
				api + ">",                        // provisioning, the poll consumer, state reads
				"$JS.ACK." + n.pollStream + ".>", // poll jobs: ack, nak, in progress, term
				"$KV." + n.stateBucket + ".>",    // feed state writes
				"$KV." + n.ledger + ".>",         // backfill claims
				"$KV." + n.deliveryKV + ".>",     // delivery state writes
			},
			SubAllow: []string{daemonInboxPrefix + ".>"},
		}
	case RoleBridge:
		d, bucket, dlSubject, dlStream := BridgeDurable, bridgeBucket, n.prefix+".slack.dead", deadLetterStream(n.prefix)
		dd := BridgeDurable + "_deliveries"
		kv := "KV_" + bucket
		return Permissions{
			PubAllow: []string{
				api + "INFO",
				api + "STREAM.INFO." + alerts,
				api + "CONSUMER.CREATE." + alerts + "." + d,
				api + "CONSUMER.CREATE." + alerts + "." + d + ".>",
				api + "CONSUMER.DURABLE.CREATE." + alerts + "." + d,
				api + "CONSUMER.INFO." + alerts + "." + d,
				api + "CONSUMER.MSG.NEXT." + alerts + "." + d,
				"$JS.ACK." + alerts + "." + d + ".>",
				// Its consumer of the delivery stream: digests, budget notices, spikes.
				api + "STREAM.INFO." + n.delivery,
				api + "CONSUMER.CREATE." + n.delivery + "." + dd,
				api + "CONSUMER.CREATE." + n.delivery + "." + dd + ".>",
				api + "CONSUMER.DURABLE.CREATE." + n.delivery + "." + dd,
				api + "CONSUMER.INFO." + n.delivery + "." + dd,
				api + "CONSUMER.MSG.NEXT." + n.delivery + "." + dd,
				"$JS.ACK." + n.delivery + "." + dd + ".>",
				// The ledger bucket: created or updated by the bridge, read and written.
				api + "STREAM.CREATE." + kv, api + "STREAM.UPDATE." + kv, api + "STREAM.INFO." + kv,
				api + "STREAM.MSG.GET." + kv, api + "DIRECT.GET." + kv, api + "DIRECT.GET." + kv + ".>",
				"$KV." + bucket + ".>",
				// The dead-letter stream: created or updated by the bridge, published to.
				api + "STREAM.CREATE." + dlStream, api + "STREAM.UPDATE." + dlStream, api + "STREAM.INFO." + dlStream,
				dlSubject + ".>",
			},
			SubAllow: []string{"_INBOX.>"},
		}
	case RoleSubscriber:
		// The alert stream, the item archive, the story stream and the delivery stream, each read
		// the same way.
		d := BridgeDurable
		p := Permissions{PubAllow: []string{api + "INFO", api + "STREAM.NAMES"}}
		for _, stream := range []string{alerts, n.itemStream, n.storyStream, n.delivery} {
			p.PubAllow = append(p.PubAllow,
				api+"STREAM.INFO."+stream,
				api+"STREAM.MSG.GET."+stream,
				api+"DIRECT.GET."+stream,
				api+"DIRECT.GET."+stream+".>",
				// Only the forms that name the consumer in the subject, which the deny list below
				// can match: with CONSUMER.CREATE.<stream> alone the server takes the name from
				// the request, and would let a subscriber rewrite the bridge's consumer.
				api+"CONSUMER.CREATE."+stream+".*",
				api+"CONSUMER.CREATE."+stream+".*.>",
				api+"CONSUMER.DURABLE.CREATE."+stream+".*",
				api+"CONSUMER.INFO."+stream+".*",
				api+"CONSUMER.NAMES."+stream,
				api+"CONSUMER.LIST."+stream,
				api+"CONSUMER.MSG.NEXT."+stream+".*",
				api+"CONSUMER.DELETE."+stream+".*",
				"$JS.ACK."+stream+".>",
				"$JS.FC."+stream+".>", // flow control of push consumers
			)
		}
		// The bridge's consumer is not the subscribers' to read, change, take from or delete.
		p.PubDeny = []string{
			api + "CONSUMER.*." + alerts + "." + d,
			api + "CONSUMER.*." + alerts + "." + d + ".>",
			api + "CONSUMER.*.*." + alerts + "." + d,
			"$JS.ACK." + alerts + "." + d + ".>",
			api + "CONSUMER.*." + n.delivery + "." + d + "_deliveries",
			api + "CONSUMER.*." + n.delivery + "." + d + "_deliveries.>",
			api + "CONSUMER.*.*." + n.delivery + "." + d + "_deliveries",
			"$JS.ACK." + n.delivery + "." + d + "_deliveries.>",
		}
		p.SubAllow = []string{n.prefix + ".alert.>", n.prefix + ".feed.>", n.prefix + ".item.>", n.prefix + ".story.>", n.prefix + ".digest.>", n.prefix + ".spike.>", "_INBOX.>"}
		return p
	}
	return Permissions{}
}

// deadLetterStream is the bridge's default dead-letter stream: "newswatch" -> "NEWSWATCH_SLACK_DEAD".
func deadLetterStream(prefix string) string {
	return strings.ToUpper(nameFromPrefix(prefix + ".slack.dead"))
}

// AuthorizationBlock is the three roles as a nats-server authorization block for an external
// server, with their passwords (bcrypt hashes, from `nats server passwd`) taken from the
// environment variables NEWSWATCH_DAEMON_PASS, NEWSWATCH_BRIDGE_PASS and NEWSWATCH_SUBSCRIBER_PASS.
func AuthorizationBlock(cfg Config) (string, error) {
	var b strings.Builder
	b.WriteString("authorization {\n  users = [\n")
	for _, role := range Roles {
		p, err := RolePermissions(cfg, role)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "    { user = \"newswatch-%s\", password = $NEWSWATCH_%s_PASS\n", role, strings.ToUpper(string(role)))
		b.WriteString("      permissions = {\n        publish = {\n")
		fmt.Fprintf(&b, "          allow = %s\n", quoteList(p.PubAllow, 10))
		if len(p.PubDeny) > 0 {
			fmt.Fprintf(&b, "          deny = %s\n", quoteList(p.PubDeny, 10))
		}
		b.WriteString("        }\n")
		fmt.Fprintf(&b, "        subscribe = { allow = %s }\n", quoteList(p.SubAllow, 8))
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	return b.String(), nil
}

// quoteList writes subjects as a list of quoted strings, one a line, the closing bracket indented
// by indent; a list of one stays on its line.
func quoteList(subjects []string, indent int) string {
	if len(subjects) == 1 {
		return fmt.Sprintf("[%q]", subjects[0])
	}
	var b strings.Builder
	b.WriteString("[\n")
	for _, s := range subjects {
		fmt.Fprintf(&b, "%s%q\n", strings.Repeat(" ", indent+2), s)
	}
	b.WriteString(strings.Repeat(" ", indent) + "]")
	return b.String()
}
