// Package temporalserver runs a Temporal server inside the cmr process for
// `cmr dev`: all four services in one process, persisted to a SQLite file in
// the data directory, so open cases, timers and tickets survive a restart.
//
// It is the only package that imports go.temporal.io/server: that module is
// large and slow to compile, so nothing else may depend on it.
package temporalserver

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"

	_ "modernc.org/sqlite" // driver "sqlite", as the server's own SQLite plugin uses
)

// Config says where the embedded server keeps its state.
type Config struct {
	// Dir holds temporal.db and the frontend port chosen on first start.
	Dir string
	// Namespaces are registered on start (a no-op when they exist);
	// default: "default".
	Namespaces []string
	// Ephemeral keeps everything in memory (tests); Dir is then unused.
	Ephemeral bool
	// LogFile receives the server's own warnings and errors; empty
	// discards them.
	LogFile string
	// Port is the frontend's port on 127.0.0.1; 0 picks one (with Dir:
	// the one of the previous start when it is free). A Port that is
	// taken is an error: clients configured with it would wait in vain.
	Port int
}

// Server is a running embedded Temporal server.
type Server struct {
	srv      temporal.Server
	hostPort string
}

// HostPort is the frontend address clients dial.
func (s *Server) HostPort() string { return s.hostPort }

// Stop shuts the server down.
func (s *Server) Stop() error { return s.srv.Stop() }

// Start creates (on first use) and starts the server.
func Start(cfg Config) (*Server, error) {
	if len(cfg.Namespaces) == 0 {
		cfg.Namespaces = []string{"default"}
	}
	var logger log.Logger = log.NewNoopLogger()
	if cfg.LogFile != "" {
		logger = log.NewZapLogger(log.BuildZapLogger(log.Config{Level: "warn", OutputFile: cfg.LogFile, Format: "json"}))
	}

	sqlCfg := config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	frontendPort := 0
	if cfg.Ephemeral {
		sqlCfg.ConnectAttributes["mode"] = "memory"
		sqlCfg.ConnectAttributes["cache"] = "shared"
		sqlCfg.DatabaseName = "cmr-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	} else {
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("temporal data dir: %w", err)
		}
		sqlCfg.ConnectAttributes["mode"] = "rwc"
		// The plugin turns every attribute it does not know into a PRAGMA
		// of that name, so these are spelled as SQLite spells them (an
		// unknown pragma is silently ignored). WAL lets readers run beside
		// the one writer; synchronous=NORMAL syncs at checkpoints, not at
		// every commit: a crash of the process loses nothing, a power cut
		// at most the last commits of a development server.
		sqlCfg.ConnectAttributes["journal_mode"] = "wal"
		sqlCfg.ConnectAttributes["synchronous"] = "normal"
		sqlCfg.ConnectAttributes["busy_timeout"] = "10000"
		sqlCfg.DatabaseName = filepath.Join(cfg.Dir, "temporal.db")
		if cfg.Port == 0 {
			p, err := stablePort(filepath.Join(cfg.Dir, "temporal.port"))
			if err != nil {
				return nil, err
			}
			frontendPort = p
		}
	}
	if cfg.Port != 0 {
		if cfg.Port < 0 || cfg.Port > 65535 {
			return nil, fmt.Errorf("temporal port: want a port number, got %d", cfg.Port)
		}
		if err := portFree(cfg.Port); err != nil {
			return nil, fmt.Errorf("temporal port %d is taken: %w", cfg.Port, err)
		}
		frontendPort = cfg.Port
		if !cfg.Ephemeral {
			// The next start without a Port takes this one again.
			if err := recordPort(filepath.Join(cfg.Dir, "temporal.port"), cfg.Port); err != nil {
				return nil, err
			}
		}
	}
	if frontendPort == 0 {
		p, err := freePort(nil)
		if err != nil {
			return nil, err
		}
		frontendPort = p
	}

	if !cfg.Ephemeral {
		if _, err := os.Stat(sqlCfg.DatabaseName); errors.Is(err, fs.ErrNotExist) {
			if err := sqlite.SetupSchema(&sqlCfg); err != nil {
				return nil, fmt.Errorf("temporal schema: %w", err)
			}
		} else if err := forgetMembers(sqlCfg.DatabaseName); err != nil {
			return nil, err
		}
	} // in memory, the SQLite plugin creates the schema itself

	srvCfg, err := serverConfig(sqlCfg, frontendPort)
	if err != nil {
		return nil, err
	}
	var namespaces []*sqlite.NamespaceConfig
	for _, name := range cfg.Namespaces {
		ns, err := sqlite.NewNamespaceConfig("active", name, false, nil)
		if err != nil {
			return nil, fmt.Errorf("temporal namespace %s: %w", name, err)
		}
		namespaces = append(namespaces, ns)
	}
	if err := sqlite.CreateNamespaces(&sqlCfg, namespaces...); err != nil {
		return nil, fmt.Errorf("temporal namespaces: %w", err)
	}

	srv, err := temporal.NewServer(
		temporal.WithConfig(srvCfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
			// A stopping worker's outstanding polls are answered empty, so no
			// task is handed to it as it goes: otherwise a workflow task
			// dispatched in that moment is lost until its 10 s timeout, and
			// an update sent right after a restart waited for it (and timed
			// out).
			dynamicconfig.EnableCancelWorkerPollsOnShutdown.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
			// The history service reads its new tasks (a workflow task
			// after a signal, an activity's result or a child's end; a
			// signal to another workflow; a timer) at most 20 times a
			// second per shard by default, and this server has one shard:
			// every such hop waited up to 50 ms, and a ticket closed takes
			// seven of them in a row (BenchmarkTicketClose: 353-390 ms,
			// now about 66). The readers still read only when told of new
			// tasks, so an idle server does not poll more.
			dynamicconfig.TransferProcessorMaxPollRPS.Key(): []dynamicconfig.ConstrainedValue{{Value: 1000}},
			dynamicconfig.TimerProcessorMaxPollRPS.Key():    []dynamicconfig.ConstrainedValue{{Value: 1000}},
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("temporal server start: %w", err)
	}
	return &Server{srv: srv, hostPort: net.JoinHostPort("127.0.0.1", strconv.Itoa(frontendPort))}, nil
}

func serverConfig(sqlCfg config.SQL, frontendPort int) (*config.Config, error) {
	services := map[string]config.Service{}
	// Eight ports besides the frontend's: each must differ from the others
	// (two equal picks made a service fail to listen, and the server
	// panicked).
	picked := map[int]bool{frontendPort: true}
	for _, name := range []string{"frontend", "history", "matching", "worker"} {
		grpc := frontendPort
		if name != "frontend" {
			p, err := freePort(picked)
			if err != nil {
				return nil, err
			}
			grpc = p
		}
		membership, err := freePort(picked)
		if err != nil {
			return nil, err
		}
		services[name] = config.Service{RPC: config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnIP: "127.0.0.1"}}
	}
	frontend := net.JoinHostPort("127.0.0.1", strconv.Itoa(frontendPort))
	return &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: "127.0.0.1"},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: &sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			MasterClusterName:        "active",
			CurrentClusterName:       "active",
			FailoverVersionIncrement: 10,
			ClusterInformation: map[string]cluster.ClusterInformation{
				"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services:            services,
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: frontend},
	}, nil
}

// stablePort returns the frontend port recorded in file, or picks a free one
// and records it: the cluster metadata persisted in temporal.db names the
// frontend address, so a restarted server should come back on the same port.
func stablePort(file string) (int, error) {
	if b, err := os.ReadFile(file); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 {
			if portFree(p) == nil {
				return p, nil
			}
		}
	}
	p, err := freePort(nil)
	if err != nil {
		return 0, err
	}
	if err := recordPort(file, p); err != nil {
		return 0, err
	}
	return p, nil
}

// recordPort writes the frontend port for the next start to take again.
func recordPort(file string, p int) error {
	if err := os.WriteFile(file, []byte(strconv.Itoa(p)+"\n"), 0o600); err != nil {
		return fmt.Errorf("record temporal port: %w", err)
	}
	return nil
}

// portFree answers nil if port on the loopback address can be listened
// on, and why not otherwise.
func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// freePort picks a port below Linux's ephemeral range (32768-60999): a
// port the kernel handed out for port 0 and that was closed again may be
// given to an outgoing connection before the server binds it, and the
// server's services then fail to start.
//
// A port in picked is skipped, and the one returned is added to it.
func freePort(picked map[int]bool) (int, error) {
	for range 100 {
		port := 20000 + rand.IntN(12000)
		if picked[port] {
			continue
		}
		if portFree(port) != nil {
			continue
		}
		if picked != nil {
			picked[port] = true
		}
		return port, nil
	}
	return 0, errors.New("find a free port: 100 ports in 20000-31999 were taken")
}

// forgetMembers clears the cluster membership the previous run left: this
// server is the only node, and ringpop would otherwise try to join the dead
// addresses for a minute and then give up.
func forgetMembers(dbFile string) error {
	db, err := sql.Open("sqlite", "file:"+dbFile+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return fmt.Errorf("temporal membership: %w", err)
	}
	defer db.Close()
	if _, err := db.Exec("DELETE FROM cluster_membership"); err != nil {
		return fmt.Errorf("temporal membership: %w", err)
	}
	return nil
}
