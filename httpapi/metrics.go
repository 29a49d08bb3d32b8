package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the Prometheus metrics of one server. Each server has its own
// registry, so tests can run several.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	events   *prometheus.CounterVec
	settled  prometheus.Counter
	// notifications counts delivery attempts by channel and outcome.
	notifications *prometheus.CounterVec
}

// NewMetrics registers lockbox's metrics and the Go and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockbox_http_requests_total", Help: "API requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lockbox_http_request_duration_seconds", Help: "API request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockbox_events_total", Help: "Events committed to tenant logs, by type.",
		}, []string{"type"}),
		settled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lockbox_deadlines_settled_total", Help: "Requests expired or completed by the deadline sweeper.",
		}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockbox_notification_attempts_total",
			Help: "Notification delivery attempts by channel (email, webhook) and outcome (delivered, retry, failed: given up).",
		}, []string{"channel", "outcome"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.events, m.settled, m.notifications,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics for scraping.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveEvents counts committed events; wire it to lockbox.Config.OnCommit.
func (m *Metrics) ObserveEvents(events []*lockbox.Event) {
	for _, e := range events {
		m.events.WithLabelValues(string(e.Type)).Inc()
	}
}

// ObserveSettled counts requests settled by the sweeper.
func (m *Metrics) ObserveSettled(n int) { m.settled.Add(float64(n)) }

// ObserveNotification counts a notification delivery attempt; wire it to
// notify.Config.Observe.
func (m *Metrics) ObserveNotification(channel lockbox.NotificationChannel, outcome string) {
	m.notifications.WithLabelValues(string(channel), outcome).Inc()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

// Unwrap lets http.ResponseController reach the connection (flushes and
// deadlines of the revocation stream).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (m *Metrics) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Inc()
		m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
