// Package api is connectd's REST API: Kafka Connect's paths, status codes
// and JSON bodies, so that tools written for Kafka Connect (kcctl, Terraform
// providers, UIs, curl scripts) work against a connectd worker unchanged. It
// also serves /metrics, /healthz and /readyz, and holds a Go Client for the
// same API.
//
// The Server translates HTTP to calls on a herder.Herder and back. It holds
// no state and no goroutines: the herder owns the connectors, and the
// caller owns the http.Server that runs Handler and shuts it down.
//
// # Endpoints
//
//	GET    /                                          200 ServerInfo
//	GET    /health, /readyz                           200 healthy, 503 starting (Options.Ready)
//	GET    /healthz                                   200 healthy (liveness)
//	GET    /metrics                                   Options.Metrics, when set
//	GET    /connectors[?expand=status&expand=info]    200 names, or name -> {status, info}
//	POST   /connectors                                201 ConnectorInfo, Location; 409 if it exists
//	GET    /connectors/{c}                            200 ConnectorInfo
//	DELETE /connectors/{c}                            204
//	GET    /connectors/{c}/config                     200 config
//	PUT    /connectors/{c}/config                     201 created, 200 updated; ConnectorInfo
//	PATCH  /connectors/{c}/config                     200 ConnectorInfo; keys merged, null removes (KIP-477)
//	GET    /connectors/{c}/status                     200 ConnectorStatus
//	POST   /connectors/{c}/restart                    204; 202 ConnectorStatus with includeTasks or onlyFailed
//	PUT    /connectors/{c}/pause                      202
//	PUT    /connectors/{c}/resume                     202
//	PUT    /connectors/{c}/stop                       204
//	GET    /connectors/{c}/tasks                      200 []TaskInfo
//	GET    /connectors/{c}/tasks/{n}/status           200 TaskState
//	POST   /connectors/{c}/tasks/{n}/restart          204
//	GET    /connectors/{c}/offsets                    200 ConnectorOffsets (KIP-875)
//	PATCH  /connectors/{c}/offsets                    200 Message; 400 unless STOPPED
//	DELETE /connectors/{c}/offsets                    200 Message; 400 unless STOPPED
//	GET    /connector-plugins[?connectorsOnly=false]  200 []PluginInfo
//	GET    /connector-plugins/{p}/config              200 []ConfigKeyInfo
//	PUT    /connector-plugins/{p}/config/validate     200 ConfigInfos, errors included
//	GET    /admin/loggers                             200 name -> LoggerLevel (Options.Loggers, KIP-495)
//	GET    /admin/loggers/{name}                      200 LoggerLevel; 404 unknown logger
//	PUT    /admin/loggers/{name}[?scope=...]          200 affected loggers; 204 with scope=cluster
//
// docs/rest.md describes each endpoint for operators, with what differs
// from Kafka Connect.
//
// # Errors
//
// Every error is Kafka Connect's body, {"error_code": N, "message": "..."},
// with error_code equal to the HTTP status. A herder reports errors as
// documented in package herder: a *herder.RequestError carries its own status
// and message; a *herder.ValidationError is 400; herder.ErrNotFound is 404;
// herder.ErrAlreadyExists and herder.ErrRebalancing are 409; anything else
// is 500 with the error's text. For a bare sentinel the message is made the
// way Kafka Connect words it ("Connector foo not found"). Unknown paths are
// 404 and known paths with the wrong method 405, with Jersey's texts, as
// Kafka Connect sends them.
//
// # Where connectd is more lenient than Kafka Connect
//
// Each of these turns what Kafka Connect answers with a 500 or a confusing
// 400 into a success or a 400 that says what is wrong: malformed JSON, an
// empty body, a missing "config" and a config value that is null, an array
// or an object are 400s naming the problem (Kafka Connect: 500). POST
// /connectors takes the name from config "name" when the body has no "name".
// Validate fills connector.class in from the path when the config has none.
// Config values that are JSON numbers or booleans are taken as their text,
// exactly as Kafka Connect's Jackson does, so {"tasks.max": 1} works.
//
// Request bodies are limited to MaxBodyBytes and are never logged: connector
// configs hold secrets.
package api
