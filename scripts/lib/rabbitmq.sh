# shellcheck shell=bash disable=SC2034 # settings are used by the scripts that source this
# Settings and environment of the project's own RabbitMQ dev/test broker.
# Sourced by scripts/dev-rabbitmq and scripts/rabbitmqctl (after common.sh).
#
# Knobs (environment, all optional):
#   STACKTOP_RUN_DIR                  state dir          (default <repo>/.run/rabbitmq)
#   STACKTOP_RABBITMQ_NODENAME        Erlang node name   (default stacktop@localhost)
#   STACKTOP_RABBITMQ_AMQP_PORT       AMQP port          (default 5672)
#   STACKTOP_RABBITMQ_MGMT_PORT       management port    (default 15672)
#   STACKTOP_RABBITMQ_PROM_PORT       prometheus port    (default 15692)
#   STACKTOP_RABBITMQ_DIST_PORT       Erlang dist port   (default 25672)
#   STACKTOP_RABBITMQ_USER / _PASSWORD                   (default stacktop / stacktop-secret)
#   STACKTOP_RABBITMQ_MONITOR_USER / _MONITOR_PASSWORD   (default stacktop-monitor / monitor-secret)
#   STACKTOP_RABBITMQ_VHOSTS          extra vhosts, space separated (default "nova")
#   STACKTOP_RABBITMQ_STATS_INTERVAL  collect_statistics_interval ms (default 5000, as in production)
#   STACKTOP_RABBITMQ_START_TIMEOUT   seconds to wait for management (default 120)
#   STACKTOP_RABBITMQ_ENV_PREFIX      prefix of the env file's keys (default STACKTOP_TEST_RABBITMQ;
#                                     another prefix lets a second instance's env file be
#                                     exported beside the first, see scripts/dev-rabbitmq-metrics-off)

RMQ_RUN_DIR="${STACKTOP_RUN_DIR:-$STACKTOP_RUN_BASE/rabbitmq}"
RMQ_NODE="${STACKTOP_RABBITMQ_NODENAME:-stacktop@localhost}"
RMQ_AMQP_PORT="${STACKTOP_RABBITMQ_AMQP_PORT:-5672}"
RMQ_MGMT_PORT="${STACKTOP_RABBITMQ_MGMT_PORT:-15672}"
RMQ_PROM_PORT="${STACKTOP_RABBITMQ_PROM_PORT:-15692}"
RMQ_DIST_PORT="${STACKTOP_RABBITMQ_DIST_PORT:-25672}"
RMQ_USER="${STACKTOP_RABBITMQ_USER:-stacktop}"
RMQ_PASS="${STACKTOP_RABBITMQ_PASSWORD:-stacktop-secret}"
RMQ_MON_USER="${STACKTOP_RABBITMQ_MONITOR_USER:-stacktop-monitor}"
RMQ_MON_PASS="${STACKTOP_RABBITMQ_MONITOR_PASSWORD:-monitor-secret}"
RMQ_VHOSTS="${STACKTOP_RABBITMQ_VHOSTS:-nova}"
RMQ_STATS_INTERVAL="${STACKTOP_RABBITMQ_STATS_INTERVAL:-5000}"
RMQ_START_TIMEOUT="${STACKTOP_RABBITMQ_START_TIMEOUT:-120}"
RMQ_ENV_PREFIX="${STACKTOP_RABBITMQ_ENV_PREFIX:-STACKTOP_TEST_RABBITMQ}"
# Debian's /usr/sbin/rabbitmq* wrappers 'su' to the rabbitmq user when run as
# root; the real scripts live here and run as whoever calls them.
RMQ_BIN="${STACKTOP_RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}"
RMQ_MGMT_URL="http://127.0.0.1:$RMQ_MGMT_PORT"
RMQ_PROM_URL="http://127.0.0.1:$RMQ_PROM_PORT"

# rmq_export_env exports everything the broker and the CLI tools need to find
# this node and nothing of a system-wide RabbitMQ: own config, data, logs,
# plugins file, Erlang cookie ($HOME/.erlang.cookie), loopback-only epmd and
# distribution listener.
rmq_export_env() {
  export HOME="$RMQ_RUN_DIR/home"
  export LC_ALL=C.UTF-8 LANG=C.UTF-8
  export RABBITMQ_NODENAME="$RMQ_NODE"
  export RABBITMQ_USE_LONGNAME=false
  export RABBITMQ_CONF_ENV_FILE="$RMQ_RUN_DIR/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$RMQ_RUN_DIR/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_RUN_DIR/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_RUN_DIR/enabled_plugins"
  export RABBITMQ_MNESIA_BASE="$RMQ_RUN_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$RMQ_RUN_DIR/log"
  export RABBITMQ_LOGS="$RMQ_RUN_DIR/log/rabbit.log"
  export RABBITMQ_PID_FILE="$RMQ_RUN_DIR/broker.pid"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$RMQ_AMQP_PORT"
  export RABBITMQ_DIST_PORT="$RMQ_DIST_PORT"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

# rmq_ctl ARGS... runs rabbitmqctl against our node.
rmq_ctl() { "$RMQ_BIN/rabbitmqctl" -n "$RMQ_NODE" "$@"; }
