package jwks

import (
	"log/slog"
	"net/http"
	"time"
)

// KeySetOptions configure a [RemoteKeySet].
type KeySetOptions struct {
	HTTPClient *http.Client
	Now        func() time.Time
	Audit      slog.Handler
}

type family uint8
