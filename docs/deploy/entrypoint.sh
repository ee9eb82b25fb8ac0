#!/bin/sh
# The container's entrypoint: create the node on the first start, then run it in the foreground.
#
# Environment (all optional):
#   HOLDSPACE_NODE_DIR         the node's directory, in the volume            (default /data/node)
#   HOLDSPACE_PASSPHRASE_FILE  the passphrase: a path, or a secret's name     (default holdspace_passphrase,
#                              found in /run/secrets or $CREDENTIALS_DIRECTORY)
#   HOLDSPACE_LISTEN           HOST:PORT to listen on (UDP), first start only (default 0.0.0.0:4433)
#   HOLDSPACE_PUBLIC           HOST:PORT others dial, first start only (needed with a wildcard listen address)
#   HOLDSPACE_LOG_FORMAT       text or json                                   (default json)
#   HOLDSPACE_METRICS_ADDRESS, HOLDSPACE_METRICS_NON_LOOPBACK   read by `node run` itself
# Arguments: none runs the node; options (starting with -) are added to `node run`; anything else is
# run as a command instead (for example: holdspace node status /data/node).
set -eu

node_dir="${HOLDSPACE_NODE_DIR:-/data/node}"
export HOLDSPACE_PASSPHRASE_FILE="${HOLDSPACE_PASSPHRASE_FILE:-holdspace_passphrase}"

if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then
    exec "$@"
fi

if [ ! -e "$node_dir/node.key" ]; then
    echo "holdspace-entrypoint: no node in $node_dir yet: creating one" >&2
    if [ -n "${HOLDSPACE_PUBLIC:-}" ]; then
        holdspace node init "$node_dir" --listen "${HOLDSPACE_LISTEN:-0.0.0.0:4433}" --public "$HOLDSPACE_PUBLIC"
    else
        holdspace node init "$node_dir" --listen "${HOLDSPACE_LISTEN:-0.0.0.0:4433}"
    fi
fi

exec holdspace node run "$node_dir" --log-format "${HOLDSPACE_LOG_FORMAT:-json}" "$@"
