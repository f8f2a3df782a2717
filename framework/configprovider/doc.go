// Package configprovider resolves the placeholders of Kafka Connect's config
// providers (KIP-297) in connector configs, and keeps the values they resolve
// to out of logs.
//
// A connector config names secrets instead of holding them:
//
//	"connection.password": "${file:/etc/connectd/secrets.properties:pg.password}"
//	"aws.secret.access.key": "${env:AWS_SECRET_ACCESS_KEY}"
//	"ssl.key.password": "${dir:/var/run/secrets/kafka:key-password}"
//
// and the worker config says which providers those names refer to, with
// Kafka's keys and class names, so a Kafka Connect worker config works as it
// is:
//
//	config.providers=env,file,dir
//	config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
//	config.providers.env.param.allowlist.pattern=AWS_.*|PG_.*
//	config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
//	config.providers.file.param.allowed.paths=/etc/connectd
//	config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
//	config.providers.dir.param.allowed.paths=/var/run/secrets
//
// The classes may also be given by the short names file, directory (or dir)
// and env. Custom providers are added to a Registry under a class name of
// their own.
//
// # Built-in providers
//
//   - file (FileConfigProvider): ${file:PATH:KEY} is the property KEY of the
//     Java properties file PATH.
//   - directory (DirectoryConfigProvider, KIP-632): ${dir:DIR:NAME} is the
//     content of the regular file NAME in the directory DIR, byte for byte,
//     trailing newline included, as in Kafka. Kubernetes secret volumes are
//     such directories.
//   - env (EnvVarConfigProvider, KIP-887): ${env:NAME} is the environment
//     variable NAME; allowlist.pattern limits which names may be read.
//
// allowed.paths (KIP-993) limits file and directory to files under a comma
// separated list of absolute paths, compared after ".." is resolved, as in
// Kafka, so ${file:/etc/connectd/../shadow:x} is refused when only
// /etc/connectd is allowed. Set it on any worker whose REST API is open to
// people who should not read the worker's files.
//
// # Semantics, and where they differ from Kafka's
//
// Placeholders are found as Kafka's ConfigTransformer finds them (see
// FindPlaceholders), in values only, any number per value, in one pass: a
// resolved value is never scanned again. A placeholder whose provider is not
// configured stays as written, as in Kafka.
//
// Kafka also leaves a placeholder as written when its provider is configured
// but finds nothing (a missing key, a path outside allowed.paths, a missing
// directory), and the connector then runs with the placeholder text as its
// password. Here Resolve fails instead, with one *ResolveError per
// placeholder naming the connector config key and the placeholder as written
// (never a resolved value), so the connector fails to start with a message
// that says what to fix. For the same reason FromWorkerConfig refuses a
// provider listed without a class (Kafka skips it) and built-in providers
// refuse parameters they do not know (a misspelt allowed.paths would
// otherwise allow every path). TTLs and config.action.reload, with which
// Kafka restarts a connector when a provider says a value expires, are not
// implemented: no built-in provider sets a TTL.
//
// # Wiring into a worker
//
// Build one Resolver and one Redactor per worker, at start:
//
//	res, err := configprovider.FromWorkerConfig(workerProps) // error names the bad key
//	defer res.Close()
//	red := &configprovider.Redactor{}
//	logger := slog.New(configprovider.NewRedactingHandler(baseHandler, red))
//
// Wrap the worker's root handler, so that what plugin processes log through
// the worker is redacted too. Then, in the worker, just before a connector
// instance or a task is started across the plugin boundary (and on every
// restart, so rotated secrets are read anew):
//
//	resolved, secrets, err := res.Resolve(ctx, rawConfig)
//	if err != nil {
//		// Fail the connector or task with err.Error(): it names the config
//		// keys and placeholders, and holds no secret.
//	}
//	red.Add(secrets...)
//	// hand resolved, and only resolved, to the plugin
//
// Every value a placeholder resolves to counts as a secret, so a host name
// or port read through a provider is hidden in logs as well, wherever it
// appears; values as short as "1" or "true" make logs hard to read, so keep
// providers for secrets.
//
// The worker config itself may hold placeholders too (KIP-421): resolve it
// with the same Resolver, res.Resolve(ctx, workerProps), and add those
// secrets to the Redactor as well.
//
// Everything else keeps the raw config: the config store and config topic,
// GET /connectors/{name}/config, status and log lines. Task configs that a
// connector returns were made from resolved values: pass them through
// ReverseTransform with the raw connector config before storing them, as
// Kafka does. Kafka's config validation resolves placeholders before
// validating; a validate response must then show the raw value, or
// Redactor.Redact the resolved one, for every key that held a placeholder.
// Status traces and REST error messages built from a task's error should go
// through Redactor.Redact as well, since a connector's error may quote a
// config value.
package configprovider
