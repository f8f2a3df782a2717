package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/connectd/connectd/api"
	"github.com/connectd/connectd/framework/runtime"
	"github.com/connectd/connectd/internal/sslconf"
)

// restListener is one address the REST API listens on.
type restListener struct {
	scheme string // http or https
	addr   string // host:port to listen on
	tls    *tls.Config
}

// restSetup is the REST API's listeners and security, from worker keys
// with Kafka Connect's names.
type restSetup struct {
	listeners []restListener
	// admin lists the admin.listeners; nil means the /admin/* endpoints
	// are on the regular listeners, empty that there are none.
	admin      []restListener
	separate   bool // admin.listeners was set
	advertised string
	auth       *api.Authenticator
	cors       api.CORS
	// client makes the requests this worker sends other workers
	// (forwarding to the leader): their TLS settings, as Kafka Connect's
	// REST client takes them.
	client *http.Client
}

// parseREST reads the REST keys of cfg.
func parseREST(cfg *runtime.WorkerConfig) (*restSetup, error) {
	rs := &restSetup{cors: api.CORS{AllowOrigin: cfg.Parsed.String(runtime.KeyAllowOrigin), AllowMethods: cfg.Parsed.String(runtime.KeyAllowMethods)}}
	listeners := cfg.Parsed.List(runtime.KeyListeners)
	if len(listeners) == 0 {
		listeners = []string{"http://:8083"}
	}
	var err error
	if rs.listeners, err = parseListeners(cfg.Raw, runtime.KeyListeners, listeners, "listeners.https."); err != nil {
		return nil, err
	}
	if v, ok := cfg.Raw[runtime.KeyAdminListeners]; ok {
		rs.separate = true
		rs.admin = []restListener{}
		if strings.TrimSpace(v) != "" {
			if rs.admin, err = parseListeners(cfg.Raw, runtime.KeyAdminListeners, cfg.Parsed.List(runtime.KeyAdminListeners), "admin.listeners.https."); err != nil {
				return nil, err
			}
		}
	}
	rs.advertised = strings.ToLower(cfg.Parsed.String(runtime.KeyAdvertisedListener))
	switch rs.advertised {
	case "":
		// Kafka Connect's choice: http when there is an http listener.
		rs.advertised = "https"
		for _, l := range rs.listeners {
			if l.scheme == "http" {
				rs.advertised = "http"
			}
		}
	case "http", "https":
		if rs.listener(rs.advertised) == nil {
			return nil, fmt.Errorf("worker config: %s=%s but no listener is %s://", runtime.KeyAdvertisedListener, rs.advertised, rs.advertised)
		}
	default:
		return nil, fmt.Errorf("worker config: %s=%q is not http or https", runtime.KeyAdvertisedListener, rs.advertised)
	}
	users, tokens := cfg.Parsed.String(runtime.KeyRESTUsersFile), cfg.Parsed.String(runtime.KeyRESTTokensFile)
	if users != "" || tokens != "" {
		if rs.auth, err = api.NewAuthenticator(users, tokens); err != nil {
			return nil, fmt.Errorf("worker config: %w", err)
		}
	}
	clientTLS, err := sslconf.Client(httpsSettings(cfg.Raw, "listeners.https."))
	if err != nil {
		return nil, fmt.Errorf("worker config: REST client: %w", err)
	}
	rs.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS, ForceAttemptHTTP2: true}}
	return rs, nil
}

// httpsSettings returns the ssl.* keys of an https listener: those under
// prefix if any key has it, else the unprefixed ones (Kafka Connect's
// all-or-nothing rule).
func httpsSettings(raw map[string]string, prefix string) *sslconf.Settings {
	for k := range raw {
		if strings.HasPrefix(k, prefix) {
			return sslconf.New().Overlay(raw, prefix, "ssl.")
		}
	}
	return sslconf.New().Overlay(raw, "", "ssl.")
}

func parseListeners(raw map[string]string, key string, urls []string, prefix string) ([]restListener, error) {
	var out []restListener
	for _, v := range urls {
		u, err := url.Parse(strings.TrimSpace(v))
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("worker config: %s: %q is not a URL like http://host:8083 or https://host:8443", key, v)
		}
		l := restListener{scheme: strings.ToLower(u.Scheme), addr: u.Host}
		switch l.scheme {
		case "http":
		case "https":
			if l.tls, err = sslconf.Server(httpsSettings(raw, prefix)); err != nil {
				return nil, fmt.Errorf("worker config: %s %s: %w", key, v, err)
			}
		default:
			return nil, fmt.Errorf("worker config: %s: %q: the scheme must be http or https", key, v)
		}
		out = append(out, l)
	}
	return out, nil
}

// listener returns the first listener of scheme, or nil.
func (rs *restSetup) listener(scheme string) *restListener {
	for i := range rs.listeners {
		if rs.listeners[i].scheme == scheme {
			return &rs.listeners[i]
		}
	}
	return nil
}

// boundListener is a listener with its socket open.
type boundListener struct {
	restListener
	ln    net.Listener
	admin bool
}

// url is where the listener can be reached.
func (b boundListener) url() string { return b.scheme + "://" + b.ln.Addr().String() }

// open opens every listener's socket.
func (rs *restSetup) open() ([]boundListener, error) {
	var out []boundListener
	closeAll := func() {
		for _, b := range out {
			b.ln.Close()
		}
	}
	for i, group := range [][]restListener{rs.listeners, rs.admin} {
		for _, l := range group {
			ln, err := net.Listen("tcp", l.addr)
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("REST listener %s://%s: %w", l.scheme, l.addr, err)
			}
			if l.tls != nil {
				ln = tls.NewListener(ln, l.tls)
			}
			out = append(out, boundListener{restListener: l, ln: ln, admin: i == 1})
		}
	}
	return out, nil
}

// restFlags are `connectd dev`'s REST security flags.
type restFlags struct {
	tls                bool
	usersFile, tokens  string
	caPath             string
	usersSet, tokenSet bool
}

func (f *restFlags) flags(fs *flag.FlagSet) {
	fs.BoolVar(&f.tls, "rest-tls", false, "serve the REST API over https, with a certificate from a CA made in the data dir")
	fs.StringVar(&f.usersFile, "rest-users-file", "", "REST users file (name:bcrypt-hash[:role] lines; see `connectd hash-password`): every request needs credentials")
	fs.StringVar(&f.tokens, "rest-tokens-file", "", "REST bearer tokens file (name:sha256-hex[:role] lines)")
}

func (f *restFlags) scheme() string {
	if f.tls {
		return "https"
	}
	return "http"
}

// setup adds the REST keys the flags ask for to props, making the TLS
// certificate in dir on first use.
func (f *restFlags) setup(dir string, props map[string]string) error {
	if f.usersFile != "" {
		props[runtime.KeyRESTUsersFile] = f.usersFile
	}
	if f.tokens != "" {
		props[runtime.KeyRESTTokensFile] = f.tokens
	}
	if !f.tls {
		return nil
	}
	if _, ca, err := brokerTLS(dir); err != nil {
		return err
	} else {
		f.caPath = ca
	}
	props["listeners.https.ssl.keystore.type"] = "PEM"
	props["listeners.https.ssl.keystore.location"] = filepath.Join(dir, "broker.pem")
	props["listeners.https.ssl.truststore.type"] = "PEM"
	props["listeners.https.ssl.truststore.location"] = f.caPath
	return nil
}

func (f *restFlags) announce() {
	if f.caPath != "" {
		fmt.Printf("REST CA: %s\n", f.caPath)
	}
}
