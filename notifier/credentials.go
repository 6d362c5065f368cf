package notifier

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// The embedded server runs in operator mode: one account holds newswatch's streams, and its
// users, one per Role, each sign in with a standard credentials file (a user JWT and its nkey
// seed) that every NATS client takes (nats.UserCredentials, `nats --creds`). The account's
// signing key is the one secret kept besides them; the operator and the system account are made
// afresh at each start, since nothing outside the process refers to them.

// CredentialsDir is the directory of the embedded server's credentials: <store_dir>/credentials.
// They live with the store because the store's JetStream data belongs to the account they sign.
func CredentialsDir(storeDir string) string { return filepath.Join(storeDir, "credentials") }

// CredsFile is the credentials file of role in the embedded server whose store is storeDir.
func CredsFile(storeDir string, role Role) string {
	return filepath.Join(CredentialsDir(storeDir), string(role)+".creds")
}

// accountKeyFile holds the account's seed, which signs the users' JWTs.
const accountKeyFile = "account.nk"

// accountName is the account's name in its JWT, for `nats account info`.
const accountName = "newswatch"

// auth is what the embedded server and the daemon's connection need of the credentials.
type auth struct {
	operator   *jwt.OperatorClaims
	resolver   *server.MemAccResolver
	systemAcc  string // public key of the system account
	account    string // public key of newswatch's account
	daemonJWT  string
	daemonSeed []byte
	written    []Role // roles whose files were created or rewritten
}

// loadAuth reads the credentials in dir, creating the directory (mode 0700), the account key and
// any missing or outdated user file (mode 0600): a user's file is rewritten, with its key kept,
// when its permissions differ from the role's now (a new subject prefix) or another account
// signed it.
func loadAuth(dir string, n names) (*auth, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	acc, err := accountKey(filepath.Join(dir, accountKeyFile))
	if err != nil {
		return nil, err
	}
	a := &auth{resolver: &server.MemAccResolver{}}
	if a.account, err = acc.PublicKey(); err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	if err := a.trust(acc); err != nil {
		return nil, err
	}
	for _, role := range Roles {
		path := filepath.Join(dir, string(role)+".creds")
		perms := rolePermissions(n, role)
		if role == RoleDaemon {
			// The daemon's user administers the account (its JetStream API is all of it anyway),
			// so that its file also serves an operator's `nats stream ls` and repairs.
			perms = Permissions{PubAllow: []string{">"}, SubAllow: []string{">"}}
		}
		token, seed, wrote, err := userCreds(path, acc, a.account, role, perms)
		if err != nil {
			return nil, err
		}
		if wrote {
			a.written = append(a.written, role)
		}
		if role == RoleDaemon {
			a.daemonJWT, a.daemonSeed = token, seed
		}
	}
	return a, nil
}

// trust makes a new operator and system account, and signs the operator's claims on acc.
func (a *auth) trust(acc nkeys.KeyPair) error {
	op, err := nkeys.CreateOperator()
	if err != nil {
		return fmt.Errorf("credentials: operator key: %w", err)
	}
	opPub, _ := op.PublicKey()
	sys, err := nkeys.CreateAccount()
	if err != nil {
		return fmt.Errorf("credentials: system account key: %w", err)
	}
	a.systemAcc, _ = sys.PublicKey()

	oc := jwt.NewOperatorClaims(opPub)
	oc.Name = "newswatch-embedded"
	oc.SystemAccount = a.systemAcc
	opJWT, err := oc.Encode(op)
	if err != nil {
		return fmt.Errorf("credentials: operator: %w", err)
	}
	if a.operator, err = jwt.DecodeOperatorClaims(opJWT); err != nil {
		return fmt.Errorf("credentials: operator: %w", err)
	}

	sc := jwt.NewAccountClaims(a.systemAcc)
	sc.Name = "SYS"
	sysJWT, err := sc.Encode(op)
	if err != nil {
		return fmt.Errorf("credentials: system account: %w", err)
	}
	ac := jwt.NewAccountClaims(a.account)
	ac.Name = accountName
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{
		MemoryStorage: jwt.NoLimit, DiskStorage: jwt.NoLimit, Streams: jwt.NoLimit,
		Consumer: jwt.NoLimit, MaxAckPending: jwt.NoLimit,
	}
	accJWT, err := ac.Encode(op)
	if err != nil {
		return fmt.Errorf("credentials: account: %w", err)
	}
	if err := a.resolver.Store(a.systemAcc, sysJWT); err != nil {
		return fmt.Errorf("credentials: system account: %w", err)
	}
	if err := a.resolver.Store(a.account, accJWT); err != nil {
		return fmt.Errorf("credentials: account: %w", err)
	}
	return nil
}

// accountKey reads the account seed at path, or creates it.
func accountKey(path string) (nkeys.KeyPair, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		kp, err := nkeys.FromSeed(bytes.TrimSpace(data))
		if err != nil {
			return nil, fmt.Errorf("credentials: %s: %w", path, err)
		}
		if seed, _ := kp.Seed(); !bytes.HasPrefix(seed, []byte("SA")) {
			return nil, fmt.Errorf("credentials: %s: not an account seed", path)
		}
		return kp, os.Chmod(path, 0o600)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	kp, err := nkeys.CreateAccount()
	if err != nil {
		return nil, fmt.Errorf("credentials: account key: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, fmt.Errorf("credentials: account key: %w", err)
	}
	if err := writeSecret(path, append(seed, '\n')); err != nil {
		return nil, err
	}
	return kp, nil
}

// userCreds returns the JWT and seed of role's file at path, rewriting the file when it is
// missing, unreadable, signed by another account or of other permissions.
func userCreds(path string, acc nkeys.KeyPair, accPub string, role Role, perms Permissions) (token string, seed []byte, wrote bool, err error) {
	var user nkeys.KeyPair
	if data, err := os.ReadFile(path); err == nil {
		user, _ = jwt.ParseDecoratedUserNKey(data)
		if token, err := jwt.ParseDecoratedJWT(data); err == nil && user != nil {
			if uc, err := jwt.DecodeUserClaims(token); err == nil && current(uc, user, accPub, role, perms) {
				seed, _ := user.Seed()
				return token, seed, false, os.Chmod(path, 0o600)
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", nil, false, fmt.Errorf("credentials: %w", err)
	}
	if user == nil {
		if user, err = nkeys.CreateUser(); err != nil {
			return "", nil, false, fmt.Errorf("credentials: %s key: %w", role, err)
		}
	}
	pub, _ := user.PublicKey()
	uc := jwt.NewUserClaims(pub)
	uc.Name = "newswatch-" + string(role)
	uc.Pub.Allow, uc.Pub.Deny, uc.Sub.Allow = perms.PubAllow, perms.PubDeny, perms.SubAllow
	if token, err = uc.Encode(acc); err != nil {
		return "", nil, false, fmt.Errorf("credentials: %s: %w", role, err)
	}
	if seed, err = user.Seed(); err != nil {
		return "", nil, false, fmt.Errorf("credentials: %s: %w", role, err)
	}
	creds, err := jwt.FormatUserConfig(token, seed)
	if err != nil {
		return "", nil, false, fmt.Errorf("credentials: %s: %w", role, err)
	}
	if err := writeSecret(path, creds); err != nil {
		return "", nil, false, err
	}
	return token, seed, true, nil
}

// current reports whether uc is the user's, signed by the account, with perms.
func current(uc *jwt.UserClaims, user nkeys.KeyPair, accPub string, role Role, perms Permissions) bool {
	pub, _ := user.PublicKey()
	return uc.Subject == pub && uc.Issuer == accPub && uc.Name == "newswatch-"+string(role) &&
		slices.Equal(uc.Pub.Allow, perms.PubAllow) && slices.Equal(uc.Pub.Deny, perms.PubDeny) &&
		slices.Equal(uc.Sub.Allow, perms.SubAllow) && len(uc.Sub.Deny) == 0 && uc.Resp == nil &&
		uc.Expires == 0 && !uc.BearerToken
}

// writeSecret writes data to path with mode 0600, through a temporary file renamed over it, so
// that a reader never sees half a file.
func writeSecret(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("credentials: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("credentials: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("credentials: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	return nil
}

// adoptStore moves the JetStream data of another account to the account's directory when the
// account has none: the data of a server that ran without authentication (account "$G"), or of
// an account whose key was deleted to rotate every credential. It reports the directory moved.
func adoptStore(storeDir, account string) (string, error) {
	js := filepath.Join(storeDir, "jetstream")
	if _, err := os.Stat(filepath.Join(js, account)); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	entries, err := os.ReadDir(js)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("jetstream store: %w", err)
	}
	var found []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() && (name == "$G" || len(name) == 56 && name[0] == 'A' && nkeys.IsValidPublicAccountKey(name)) {
			found = append(found, name)
		}
	}
	if len(found) != 1 {
		return "", nil
	}
	if err := os.Rename(filepath.Join(js, found[0]), filepath.Join(js, account)); err != nil {
		return "", fmt.Errorf("jetstream store: %w", err)
	}
	return found[0], nil
}
