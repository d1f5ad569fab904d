#!/bin/sh
# rabbitmq-users.sh — least-privilege RabbitMQ users for stacktop's node
# heartbeats and broker canary (README.md, section Agent).
#
#   AGENT_PASSWORD_FILE=/root/agent.pw DASHBOARD_PASSWORD_FILE=/root/dash.pw \
#       scripts/systemd/rabbitmq-users.sh VHOST [CANARY_VHOST]
#
# VHOST is where the agents publish and the dashboard consumes (Nova's own
# vhost, or one for stacktop); CANARY_VHOST (default VHOST) is where the
# dashboard's canary makes its round trip: Nova's vhost, so that it crosses
# what Nova's RPC crosses. Passwords go to rabbitmqctl on stdin, never argv.
# Users that exist keep their password; their permissions are (re)set.
#
#   agent (AGENT_USER, default stacktop-agent), in VHOST:
#     configure  ^stacktop\.heartbeat$   declare the heartbeat exchange (as everyone declares it)
#     write      ^stacktop\.heartbeat$   publish to it
#     read       ^$                      nothing
#   dashboard (DASHBOARD_USER, default stacktop-dashboard):
#     in VHOST: declare the exchange and its own stacktop.dashboard.* queue,
#       bind it (write on the queue, read on the exchange) and consume it;
#     in CANARY_VHOST: declare its stacktop.canary.* queues, consume them and
#       publish to them through the default exchange (write on amq.default).
#   Neither user has a tag: no management UI, no other exchange or queue.
#
# Environment: RABBITMQCTL (default rabbitmqctl), AGENT_USER, DASHBOARD_USER,
# AGENT_PASSWORD_FILE, DASHBOARD_PASSWORD_FILE.
set -eu

vhost="${1:?usage: rabbitmq-users.sh VHOST [CANARY_VHOST]}"
canary_vhost="${2:-$vhost}"
ctl="${RABBITMQCTL:-rabbitmqctl}"
agent="${AGENT_USER:-stacktop-agent}"
dashboard="${DASHBOARD_USER:-stacktop-dashboard}"

add_user() { # NAME PASSWORD_FILE
  if "$ctl" -q list_users | cut -f1 | grep -qx -- "$1"; then
    echo "user $1 exists: password unchanged"
  else
    [ -r "$2" ] || { echo "rabbitmq-users.sh: password file for $1 not readable: '$2'" >&2; exit 1; }
    "$ctl" -q add_user "$1" < "$2" >/dev/null
    echo "user $1 added"
  fi
}

add_user "$agent" "${AGENT_PASSWORD_FILE:-}"
add_user "$dashboard" "${DASHBOARD_PASSWORD_FILE:-}"

"$ctl" -q set_permissions -p "$vhost" "$agent" '^stacktop\.heartbeat$' '^stacktop\.heartbeat$' '^$'

if [ "$canary_vhost" = "$vhost" ]; then
  "$ctl" -q set_permissions -p "$vhost" "$dashboard" \
    '^stacktop\.(heartbeat|dashboard\..+|canary\..+)$' \
    '^(amq\.default|stacktop\.(dashboard|canary)\..+)$' \
    '^stacktop\.(heartbeat|dashboard\..+|canary\..+)$'
else
  "$ctl" -q set_permissions -p "$vhost" "$dashboard" \
    '^stacktop\.(heartbeat|dashboard\..+)$' '^stacktop\.dashboard\..+$' '^stacktop\.(heartbeat|dashboard\..+)$'
  "$ctl" -q set_permissions -p "$canary_vhost" "$dashboard" \
    '^stacktop\.canary\..+$' '^(amq\.default|stacktop\.canary\..+)$' '^stacktop\.canary\..+$'
fi
echo "permissions set: $agent on $vhost; $dashboard on $vhost and $canary_vhost"
